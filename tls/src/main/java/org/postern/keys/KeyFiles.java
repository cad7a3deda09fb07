package org.postern.keys;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.List;

import org.postern.config.Secret;

/**
 * ECDSA P-256 key generation and PKCS#8 key files: encrypted (PBES2, PBKDF2-HMAC-SHA256,
 * AES-256-CBC) for CA keys, plain for keys handed to a server, an admin or a device. Files are
 * readable by {@code openssl pkey}. Plain PKCS#8 needs only the JDK (the agent carries no
 * BouncyCastle); encrypted keys and the older SEC1/PKCS#1 blocks are BouncyCastle's work.
 */
public final class KeyFiles {
    /** PBKDF2 rounds: OWASP's figure for PBKDF2-HMAC-SHA256 is 600,000; a CA key is unlocked rarely. */
    static final int PBKDF2_ITERATIONS = 600_000;
    /** Key algorithms a plain PKCS#8 file may hold, tried in turn. */
    private static final List<String> ALGORITHMS = List.of("EC", "RSA", "Ed25519", "Ed448", "RSASSA-PSS");

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
        return BouncyCastleKeys.encryptedPem(key, passphrase, random);
    }

    /** An unencrypted PKCS#8 {@code PRIVATE KEY} block. */
    public static byte[] plainPem(PrivateKey key) {
        byte[] der = key.getEncoded();
        if (der == null || !"PKCS#8".equals(key.getFormat())) {
            throw new IllegalArgumentException("expected a key with a PKCS#8 encoding, found " + key.getFormat()
                    + " (a key inside a token cannot be written to a file)");
        }
        return Pem.block("PRIVATE KEY", der).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Reads an encrypted PKCS#8 key. A wrong passphrase is a {@link WrongPassphraseException}
     * naming the file, never a stack trace.
     */
    public static PrivateKey readEncrypted(Path file, Secret passphrase) throws IOException {
        return BouncyCastleKeys.readEncrypted(file, passphrase);
    }

    /** Reads an unencrypted PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") key. */
    public static PrivateKey readPlain(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        List<Pem.Block> blocks = Pem.blocks(text);
        if (!blocks.isEmpty() && blocks.getFirst().type().equals("PRIVATE KEY")) {
            byte[] der = blocks.getFirst().der();
            for (String algorithm : ALGORITHMS) {
                try {
                    return jdkKey(KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der)));
                } catch (GeneralSecurityException e) {
                    // not this algorithm: try the next
                }
            }
            throw new IOException(file + ": expected a PKCS#8 key of type " + ALGORITHMS + ", found one this JDK cannot read");
        }
        return jdkKey(BouncyCastleKeys.readPlain(file, text));
    }

    /**
     * The JDK's own (SunEC) form of an EC key made or read by BouncyCastle. Such a key calls itself
     * "ECDSA", and BouncyCastle becomes the first EC provider once MINA SSHD has registered it (so in
     * any JVM running the SSH bastion or asking for an SSH certificate): JSSE asks key managers for
     * "EC" keys and does not recognise BouncyCastle's curve parameters, so it would send no client
     * certificate at all (the gateway's {@code certificate_required}). Any other key, and a key
     * inside a token (no encoding), is returned as it is.
     *
     * @throws IllegalArgumentException the key's encoding is not one SunEC reads
     */
    public static PrivateKey jdkKey(PrivateKey key) {
        if (key == null || key.getClass().getName().startsWith("sun.security.") || !"PKCS#8".equals(key.getFormat())
                || key.getEncoded() == null || !(key instanceof ECPrivateKey || "ECDSA".equalsIgnoreCase(key.getAlgorithm()))) {
            return key;
        }
        try {
            return KeyFactory.getInstance("EC", "SunEC").generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("EC private key: expected a PKCS#8 encoding SunEC reads, found: " + e.getMessage(), e);
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

    /** BouncyCastle's part, in its own class so that the JDK-only paths never load it. */
    private static final class BouncyCastleKeys {
        /** Not registered globally: the JDK lacks the PKCS7Padding name that PBES2 encryption asks for. */
        private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();

        static byte[] encryptedPem(PrivateKey key, Secret passphrase, SecureRandom random) {
            try {
                var b = new org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder(org.bouncycastle.openssl.PKCS8Generator.AES_256_CBC);
                b.setProvider(BC);
                b.setRandom(random);
                b.setPassword(passphrase.revealChars());
                b.setIterationCount(PBKDF2_ITERATIONS);
                b.setPRF(org.bouncycastle.openssl.PKCS8Generator.PRF_HMACSHA256);
                var enc = b.build();
                return Pem.encode(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, enc).generate()).getBytes(StandardCharsets.US_ASCII);
            } catch (org.bouncycastle.operator.OperatorCreationException | org.bouncycastle.util.io.pem.PemGenerationException e) {
                throw new IllegalStateException("cannot encrypt the key: " + e.getMessage(), e);
            }
        }

        static PrivateKey readEncrypted(Path file, Secret passphrase) throws IOException {
            Object o;
            try (var p = new org.bouncycastle.openssl.PEMParser(new StringReader(Files.readString(file, StandardCharsets.US_ASCII)))) {
                o = p.readObject();
            }
            if (!(o instanceof org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo info)) {
                throw new IOException(file + ": expected an ENCRYPTED PRIVATE KEY (PKCS#8) block, found "
                        + (o == null ? "no PEM block" : o.getClass().getSimpleName()));
            }
            try {
                var plain = info.decryptPrivateKeyInfo(new org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder()
                        .setProvider(BC).build(passphrase.revealChars()));
                return new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter().getPrivateKey(plain);
            } catch (org.bouncycastle.pkcs.PKCSException | org.bouncycastle.operator.OperatorCreationException e) {
                throw new WrongPassphraseException(file);
            }
        }

        static PrivateKey readPlain(Path file, String text) throws IOException {
            Object o;
            try (var p = new org.bouncycastle.openssl.PEMParser(new StringReader(text))) {
                o = p.readObject();
            }
            var c = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter();
            return switch (o) {
                case org.bouncycastle.asn1.pkcs.PrivateKeyInfo info -> c.getPrivateKey(info);
                case org.bouncycastle.openssl.PEMKeyPair kp -> c.getKeyPair(kp).getPrivate();
                case null -> throw new IOException(file + ": expected a PEM PRIVATE KEY block, found none");
                default -> throw new IOException(file + ": expected an unencrypted PRIVATE KEY block, found " + o.getClass().getSimpleName());
            };
        }
    }
}
