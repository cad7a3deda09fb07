package org.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.ECGenParameterSpec;

import org.junit.jupiter.api.Test;
import org.postern.keys.KeyFiles;

/** BoringSSL's handshake signature made through JCA: P-256 only, the TLS schemes mapped, others refused by name. */
class JcaSigningKeyMethodTest {
    final KeyPair p256 = KeyFiles.generateP256(new SecureRandom());

    @Test
    void sign_ecdsaSecp256r1Sha256_isTheDerSignatureTheCertificateKeyVerifies() throws Exception {
        byte[] transcript = "TLS 1.3, client CertificateVerify\0...".getBytes(StandardCharsets.US_ASCII);
        byte[] sig = new JcaSigningKeyMethod(KeyFiles.jdkKey(p256.getPrivate()), p256.getPublic(), null).sign(null, 0x0403, transcript);

        assertThat(sig[0]).as("a DER SEQUENCE").isEqualTo((byte) 0x30);
        Signature v = Signature.getInstance("SHA256withECDSA");
        v.initVerify(p256.getPublic());
        v.update(transcript);
        assertThat(v.verify(sig)).isTrue();
    }

    @Test
    void jcaAlgorithm_mapsTheEcdsaSha2Schemes() throws Exception {
        assertThat(JcaSigningKeyMethod.jcaAlgorithm(0x0403)).isEqualTo("SHA256withECDSA");
        assertThat(JcaSigningKeyMethod.jcaAlgorithm(0x0503)).isEqualTo("SHA384withECDSA");
        assertThat(JcaSigningKeyMethod.jcaAlgorithm(0x0603)).isEqualTo("SHA512withECDSA");
    }

    @Test
    void jcaAlgorithm_otherSchemes_areRefusedByName() {
        assertThatThrownBy(() -> JcaSigningKeyMethod.jcaAlgorithm(0x0804)).isInstanceOf(SignatureException.class)
                .hasMessage("the TLS peer asked for signature scheme rsa_pss_rsae_sha256 (0x0804), which the P-256 client key"
                        + " does not sign: expected ecdsa_secp256r1_sha256 (0x0403), ecdsa_secp384r1_sha384 (0x0503)"
                        + " or ecdsa_secp521r1_sha512 (0x0603)");
        assertThatThrownBy(() -> JcaSigningKeyMethod.jcaAlgorithm(0x0203)).hasMessageContaining("ecdsa_sha1 (0x0203)");
        assertThatThrownBy(() -> JcaSigningKeyMethod.jcaAlgorithm(0x0807)).hasMessageContaining("ed25519 (0x0807)");
        assertThatThrownBy(() -> JcaSigningKeyMethod.jcaAlgorithm(0x1234)).hasMessageContaining("unknown (0x1234)");
    }

    @Test
    void decrypt_isRefused() {
        assertThatThrownBy(() -> new JcaSigningKeyMethod(p256.getPrivate(), p256.getPublic(), null).decrypt(null, new byte[32]))
                .isInstanceOf(SignatureException.class)
                .hasMessage("BoringSSL asked the EC client key to decrypt, which no TLS 1.3 handshake does");
    }

    @Test
    void keysOtherThanP256_areRefused() throws Exception {
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp384r1"));
        KeyPair p384 = ec.generateKeyPair();
        assertThatThrownBy(() -> new JcaSigningKeyMethod(p384.getPrivate(), p384.getPublic(), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("BoringSSL signs with an ECDSA P-256 client key only: expected a P-256 certificate key,"
                        + " found EC on a 384-bit curve other than P-256");
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        KeyPair r = rsa.generateKeyPair();
        assertThatThrownBy(() -> new JcaSigningKeyMethod(r.getPrivate(), r.getPublic(), null))
                .hasMessageEndingWith("found RSA key");
    }
}
