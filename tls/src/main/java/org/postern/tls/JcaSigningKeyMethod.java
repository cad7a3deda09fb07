package org.postern.tls;

import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.util.Objects;

import javax.net.ssl.SSLEngine;

import io.netty.handler.ssl.OpenSslPrivateKeyMethod;
import org.jspecify.annotations.Nullable;

/**
 * BoringSSL's handshake signature made by the key's own JCA provider: BoringSSL holds only the
 * certificate chain, and when TLS 1.3 asks the client for its CertificateVerify this signs the
 * handshake transcript with {@link Signature} on the key, so a key inside a PKCS#11 token (or a
 * TPM) is used where it lives and never copied into native memory.
 *
 * <p>Only P-256 keys, the one device key Postern issues: the TLS signature schemes an ECDSA P-256
 * key can sign are mapped to JCA's names (in TLS 1.3 that is {@code ecdsa_secp256r1_sha256}; TLS 1.2
 * would also allow the other SHA-2 hashes); any other scheme is refused, naming it. JCA's ECDSA
 * signature is DER, which is what TLS carries.
 */
final class JcaSigningKeyMethod implements OpenSslPrivateKeyMethod {
    private final PrivateKey key;
    private final @Nullable Provider provider;

    /**
     * @param key       the client key, used only through {@code provider}
     * @param publicKey its certificate's public key: must be EC P-256
     * @param provider  the JCA provider holding the key; null = the first installed one that takes it
     */
    JcaSigningKeyMethod(PrivateKey key, PublicKey publicKey, @Nullable Provider provider) {
        this.key = Objects.requireNonNull(key, "key");
        this.provider = provider;
        if (!isP256(publicKey)) {
            throw new IllegalArgumentException("BoringSSL signs with an ECDSA P-256 client key only: expected a P-256 certificate key, found "
                    + describe(publicKey));
        }
    }

    @Override
    public byte[] sign(SSLEngine engine, int signatureAlgorithm, byte[] input) throws Exception {
        String algorithm = jcaAlgorithm(signatureAlgorithm);
        Signature s = provider == null ? Signature.getInstance(algorithm) : Signature.getInstance(algorithm, provider);
        s.initSign(key);
        s.update(input);
        return s.sign();
    }

    @Override
    public byte[] decrypt(SSLEngine engine, byte[] input) throws SignatureException {
        // RSA key exchange only; TLS 1.3 has none and the key is EC
        throw new SignatureException("BoringSSL asked the EC client key to decrypt, which no TLS 1.3 handshake does");
    }

    /**
     * JCA's signature algorithm for a TLS SignatureScheme a P-256 key can sign (RFC 8446 §4.2.3).
     *
     * @throws SignatureException naming the scheme, for any other
     */
    static String jcaAlgorithm(int scheme) throws SignatureException {
        return switch (scheme) {
            case 0x0403 -> "SHA256withECDSA"; // ecdsa_secp256r1_sha256: the one TLS 1.3 allows for P-256
            case 0x0503 -> "SHA384withECDSA"; // ecdsa_secp384r1_sha384: any curve in TLS 1.2
            case 0x0603 -> "SHA512withECDSA"; // ecdsa_secp521r1_sha512: any curve in TLS 1.2
            default -> throw new SignatureException("the TLS peer asked for signature scheme " + schemeName(scheme)
                    + ", which the P-256 client key does not sign: expected ecdsa_secp256r1_sha256 (0x0403),"
                    + " ecdsa_secp384r1_sha384 (0x0503) or ecdsa_secp521r1_sha512 (0x0603)");
        };
    }

    /** The IANA name and code of a scheme, for messages. */
    static String schemeName(int scheme) {
        String name = switch (scheme) {
            case 0x0201 -> "rsa_pkcs1_sha1";
            case 0x0203 -> "ecdsa_sha1";
            case 0x0401 -> "rsa_pkcs1_sha256";
            case 0x0501 -> "rsa_pkcs1_sha384";
            case 0x0601 -> "rsa_pkcs1_sha512";
            case 0x0804 -> "rsa_pss_rsae_sha256";
            case 0x0805 -> "rsa_pss_rsae_sha384";
            case 0x0806 -> "rsa_pss_rsae_sha512";
            case 0x0807 -> "ed25519";
            case 0x0808 -> "ed448";
            case 0x0809 -> "rsa_pss_pss_sha256";
            case 0x080a -> "rsa_pss_pss_sha384";
            case 0x080b -> "rsa_pss_pss_sha512";
            default -> "unknown";
        };
        return name + String.format(" (0x%04x)", scheme);
    }

    static boolean isP256(PublicKey k) {
        if (!(k instanceof ECPublicKey ec)) {
            return false;
        }
        ECParameterSpec p256 = P256.SPEC;
        ECParameterSpec p = ec.getParams();
        return p.getCurve().equals(p256.getCurve()) && p.getOrder().equals(p256.getOrder())
                && p.getGenerator().equals(p256.getGenerator()) && p.getCofactor() == p256.getCofactor();
    }

    private static String describe(PublicKey k) {
        if (k instanceof ECPublicKey ec) {
            return "EC on a " + ec.getParams().getCurve().getField().getFieldSize() + "-bit curve other than P-256";
        }
        return k.getAlgorithm() + " key";
    }

    /** secp256r1's parameters, as the JDK knows them. */
    private static final class P256 {
        static final ECParameterSpec SPEC = spec();

        private static ECParameterSpec spec() {
            try {
                AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
                p.init(new ECGenParameterSpec("secp256r1"));
                return p.getParameterSpec(ECParameterSpec.class);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("this JDK does not know the P-256 curve: " + e.getMessage(), e);
            }
        }
    }
}
