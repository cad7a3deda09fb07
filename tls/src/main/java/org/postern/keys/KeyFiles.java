package org.postern.keys;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.InvalidAlgorithmParameterException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.openssl.PKCS8Generator;
import org.postern.config.Secret;

/**
 * ECDSA P-256 key generation and PKCS#8 key files: encrypted (PBES2, PBKDF2-HMAC-SHA256,
 * AES-256-CBC) for CA keys, plain for keys handed to a server or an admin. Files are readable by
 * {@code openssl pkey}.
 */
public final class KeyFiles {
    /** PBKDF2 rounds: OWASP's figure for PBKDF2-HMAC-SHA256 is 600,000; a CA key is unlocked rarely. */
    static final int PBKDF2_ITERATIONS = 600_000;
    /** BouncyCastle, not registered globally: the JDK lacks the PKCS7Padding name that PBES2 encryption asks for. */
    private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    private KeyFiles() {
    }

    public static KeyPair generateP256(SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            return g.generateKeyPair();
        } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
            throw new IllegalStateException("this JDK cannot generate ECDSA P-256 keys", e);
        }
    }

    public static byte[] encryptedPem(PrivateKey key, Secret passphrase, SecureRandom random) {
        try {
            JceOpenSSLPKCS8EncryptorBuilder b = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC);
            b.setProvider(BC);
            b.setRandom(random);
            b.setPassword(passphrase.revealChars());
            b.setIterationCount(PBKDF2_ITERATIONS);
            b.setPRF(PKCS8Generator.PRF_HMACSHA256);
            OutputEncryptor enc = b.build();
            return Pem.encode(new JcaPKCS8Generator(key, enc).generate()).getBytes(StandardCharsets.US_ASCII);
        } catch (OperatorCreationException | org.bouncycastle.util.io.pem.PemGenerationException e) {
            throw new IllegalStateException("cannot encrypt the key: " + e.getMessage(), e);
        }
    }

    public static byte[] plainPem(PrivateKey key) {
        try {
            return Pem.encode(new JcaPKCS8Generator(key, null).generate()).getBytes(StandardCharsets.US_ASCII);
        } catch (org.bouncycastle.util.io.pem.PemGenerationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads an encrypted PKCS#8 key. A wrong passphrase is a {@link WrongPassphraseException}
     * naming the file, never a stack trace.
     */
    public static PrivateKey readEncrypted(Path file, Secret passphrase) throws IOException {
        Object o;
        try (PEMParser p = new PEMParser(new StringReader(Files.readString(file, StandardCharsets.US_ASCII)))) {
            o = p.readObject();
        }
        if (!(o instanceof PKCS8EncryptedPrivateKeyInfo info)) {
            throw new IOException(file + ": expected an ENCRYPTED PRIVATE KEY (PKCS#8) block, found "
                    + (o == null ? "no PEM block" : o.getClass().getSimpleName()));
        }
        try {
            PrivateKeyInfo plain = info.decryptPrivateKeyInfo(new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(passphrase.revealChars()));
            return new JcaPEMKeyConverter().getPrivateKey(plain);
        } catch (PKCSException | OperatorCreationException e) {
            throw new WrongPassphraseException(file);
        }
    }

    /** Reads an unencrypted PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") key. */
    public static PrivateKey readPlain(Path file) throws IOException {
        Object o;
        try (PEMParser p = new PEMParser(new StringReader(Files.readString(file, StandardCharsets.US_ASCII)))) {
            o = p.readObject();
        }
        JcaPEMKeyConverter c = new JcaPEMKeyConverter();
        PrivateKey key = switch (o) {
            case PrivateKeyInfo info -> c.getPrivateKey(info);
            case org.bouncycastle.openssl.PEMKeyPair kp -> c.getKeyPair(kp).getPrivate();
            case null -> throw new IOException(file + ": expected a PEM PRIVATE KEY block, found none");
            default -> throw new IOException(file + ": expected an unencrypted PRIVATE KEY block, found " + o.getClass().getSimpleName());
        };
        return jdkEc(key);
    }

    /**
     * The converter asks for an "ECDSA" key factory first: with BouncyCastle registered as a JCA
     * provider (MINA SSHD registers it, so in any JVM running the SSH bastion) that gives a BC key
     * named "ECDSA", which JSSE will not use as a client key (it expects "EC"). The JDK's own key
     * for the same bytes.
     */
    private static PrivateKey jdkEc(PrivateKey key) throws IOException {
        if (!key.getAlgorithm().equals("ECDSA")) {
            return key;
        }
        try {
            return java.security.KeyFactory.getInstance("EC").generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(key.getEncoded()));
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("EC private key: " + e.getMessage(), e);
        }
    }

    /** The CA passphrase did not decrypt a key file. */
    public static final class WrongPassphraseException extends IOException {
        public WrongPassphraseException(Path file) {
            super("the CA passphrase is wrong: it does not decrypt " + file);
        }

        public WrongPassphraseException(String message) {
            super(message);
        }
    }
}
