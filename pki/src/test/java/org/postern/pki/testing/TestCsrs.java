package org.postern.pki.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Keys and PKCS#10 requests made in memory, for tests that need no openssl. */
public final class TestCsrs {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    private TestCsrs() {
    }

    public static KeyPair p256() {
        return ec("secp256r1");
    }

    /** Weak curves the JDK no longer generates; BouncyCastle still does. */
    public static KeyPair ec(String curve) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BC);
            g.initialize(new ECGenParameterSpec(curve), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeyPair rsa(int bits) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", BC);
            g.initialize(bits, RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** DER PKCS#10 for {@code keys} with subject {@code CN=cn}. */
    public static byte[] csrDer(KeyPair keys, String cn) {
        String alg = keys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        try {
            return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + cn), keys.getPublic())
                    .build(new JcaContentSignerBuilder(alg).setProvider(BC).build(keys.getPrivate())).getEncoded();
        } catch (OperatorCreationException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The EST body: base64 of the DER, with line breaks as RFC 7030 clients send it. */
    public static byte[] body(byte[] der) {
        return Base64.getMimeEncoder(64, "\n".getBytes()).encode(der);
    }

    public static byte[] body(KeyPair keys, String cn) {
        return body(csrDer(keys, cn));
    }

    /** The same CSR with the last byte of its signature flipped: it parses, but does not verify. */
    public static byte[] withBrokenSignature(byte[] der) {
        byte[] copy = der.clone();
        copy[copy.length - 1] ^= 0x01;
        return copy;
    }
}
