package org.postern.protocol.posture;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObject;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.util.Base64URL;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Signed posture evidence: a compact JWS (RFC 7515) over {@link PostureClaims}, signed ES256 with
 * the device key — the key of the device's TLS client certificate — so the gateway knows the
 * facts come from the laptop that holds that certificate. JOSE encoding and ECDSA are Nimbus
 * JOSE+JWT's; this class decides what is accepted.
 *
 * <p>Header: {@code {"alg":"ES256","typ":"postern-posture+jwt","kid":<hex SHA-256 of the
 * certificate DER>}}. Payload: the claims JSON (see {@code docs/posture.md}); times are
 * NumericDate seconds.
 *
 * <p>{@link #verify} checks, in this order, and throws {@link EvidenceException} with the reason:
 * input is compact JWS ({@code evidence.malformed}); {@code alg} is ES256, refused before any
 * verification, so {@code none} and HMAC never reach a verifier ({@code evidence.bad_signature});
 * {@code kid} names the certificate and the signature verifies with its key
 * ({@code evidence.bad_signature}); {@code typ} and {@code eat_profile}
 * ({@code evidence.bad_profile}); the claims JSON is well formed and {@code ueid} is the
 * certificate's device id ({@code evidence.malformed}); {@code eat_nonce} is the expected nonce
 * ({@code evidence.nonce_unknown}); {@code iat} is within the skew of now, either way
 * ({@code evidence.stale}).
 */
public final class Evidence {

    /** The JOSE {@code typ} of posture evidence. */
    public static final String TYPE = "postern-posture+jwt";
    /** The device id's SAN URI prefix in Postern device certificates (as the PKI issues them). */
    public static final String DEVICE_URN = "urn:postern:device:";
    /** Evidence is a few hundred bytes; anything this large is not evidence and is not parsed. */
    static final int MAX_LENGTH = 64 * 1024;

    private static final JOSEObjectType JOSE_TYPE = new JOSEObjectType(TYPE);

    /** Decides whether a nonce answers a live challenge; called only once the signature is good. */
    @FunctionalInterface
    public interface NonceCheck {
        /** Whether {@code nonce} is a challenge issued to this device and not used yet; may consume it. */
        boolean accept(String nonce);
    }

    private Evidence() {
    }

    /**
     * Signs {@code claims} with the device key. The key may be a software {@link ECPrivateKey}
     * or a P-256 key held by a PKCS#11 token (a TPM through tpm2-pkcs11).
     *
     * @throws IllegalArgumentException the claims have no nonce, or their {@code ueid} is not the
     *                                  certificate's device id
     * @throws GeneralSecurityException the key cannot sign ES256
     */
    public static String sign(PostureClaims claims, PrivateKey deviceKey, X509Certificate deviceCert)
            throws GeneralSecurityException {
        Objects.requireNonNull(claims, "claims");
        Objects.requireNonNull(deviceKey, "deviceKey");
        Objects.requireNonNull(deviceCert, "deviceCert");
        if (claims.eatNonce() == null) {
            throw new IllegalArgumentException("evidence needs the gateway's nonce (eat_nonce), found none");
        }
        String deviceId = deviceId(deviceCert);
        if (!claims.ueid().equals(deviceId)) {
            throw new IllegalArgumentException("claims ueid \"" + claims.ueid() + "\" is not the certificate's device id \""
                    + deviceId + "\"");
        }
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSE_TYPE)
                .keyID(certificateSha256(deviceCert)).build();
        JWSObject jws = new JWSObject(header, new Payload(ClaimsJson.write(claims)));
        try {
            JWSSigner signer = deviceKey instanceof ECPrivateKey ec ? new ECDSASigner(ec)
                    : new ECDSASigner(deviceKey, Curve.P_256); // opaque (PKCS#11) key
            jws.sign(signer);
        } catch (JOSEException e) {
            throw new GeneralSecurityException("cannot sign posture evidence with the device key (expected an EC"
                    + " P-256 key, found " + deviceKey.getAlgorithm() + "): " + e.getMessage(), e);
        }
        return jws.serialize();
    }

    /**
     * Verifies evidence against the device certificate and the nonce the gateway issued.
     *
     * @param skew how far {@code iat} may be from {@code now}, either way (the policy's {@code evidenceSkew})
     * @return the claims, trustworthy as far as the device's key is
     * @throws EvidenceException with the reason; its message is the detail for the audit trail
     */
    public static PostureClaims verify(String jws, X509Certificate deviceCert, String expectedNonce, Instant now,
                                       Duration skew) throws EvidenceException {
        Objects.requireNonNull(expectedNonce, "expectedNonce");
        byte[] expected = expectedNonce.getBytes(StandardCharsets.UTF_8);
        return verify(jws, deviceCert, n -> MessageDigest.isEqual(expected, n.getBytes(StandardCharsets.UTF_8)), now, skew);
    }

    /**
     * As {@link #verify(String, X509Certificate, String, Instant, Duration)}, asking {@code nonces}
     * whether the evidence's nonce is live: the gateway passes its one-use challenge store, which
     * is consulted only after the signature verified, so forged evidence cannot burn a challenge.
     */
    public static PostureClaims verify(String jws, X509Certificate deviceCert, NonceCheck nonces, Instant now,
                                       Duration skew) throws EvidenceException {
        Objects.requireNonNull(deviceCert, "deviceCert");
        Objects.requireNonNull(nonces, "nonces");
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(skew, "skew");
        JWSObject object = parse(jws);
        checkSignature(object, deviceCert);

        JOSEObjectType type = object.getHeader().getType();
        if (!JOSE_TYPE.equals(type)) {
            throw new EvidenceException(Reason.EVIDENCE_BAD_PROFILE, "header typ: expected " + TYPE + ", found "
                    + (type == null ? "none" : "\"" + type + "\""));
        }
        PostureClaims claims = ClaimsJson.read(object.getPayload().toString());
        if (!PostureClaims.PROFILE.equals(claims.eatProfile())) {
            throw new EvidenceException(Reason.EVIDENCE_BAD_PROFILE, "eat_profile: expected " + PostureClaims.PROFILE
                    + ", found \"" + claims.eatProfile() + "\"");
        }
        String deviceId = deviceId(deviceCert);
        if (!claims.ueid().equals(deviceId)) {
            throw new EvidenceException(Reason.EVIDENCE_MALFORMED, "ueid: expected the certificate's device id \""
                    + deviceId + "\", found \"" + claims.ueid() + "\"");
        }
        if (claims.eatNonce() == null || !nonces.accept(claims.eatNonce())) {
            throw new EvidenceException(Reason.EVIDENCE_NONCE_UNKNOWN, "eat_nonce: expected a live challenge issued to "
                    + deviceId + ", found " + (claims.eatNonce() == null ? "none" : "an unknown or used nonce"));
        }
        Duration age = Duration.between(claims.iat(), now);
        if (age.abs().compareTo(skew) > 0) {
            throw new EvidenceException(Reason.EVIDENCE_STALE, "iat: expected within " + skew.toSeconds() + "s of "
                    + now + ", found " + claims.iat() + " (" + (age.isNegative() ? "in the future by " + age.negated().toSeconds()
                    : "old by " + age.toSeconds()) + "s)");
        }
        return claims;
    }

    private static JWSObject parse(String jws) throws EvidenceException {
        if (jws == null || jws.isBlank()) {
            throw new EvidenceException(Reason.EVIDENCE_MALFORMED, "expected a compact JWS, found nothing");
        }
        if (jws.length() > MAX_LENGTH) {
            throw new EvidenceException(Reason.EVIDENCE_MALFORMED, "expected a compact JWS of at most " + MAX_LENGTH
                    + " characters, found " + jws.length());
        }
        Base64URL[] parts;
        Header header;
        try {
            parts = JOSEObject.split(jws.strip());
            if (parts.length != 3) {
                throw new EvidenceException(Reason.EVIDENCE_MALFORMED, "expected a compact JWS (3 parts), found "
                        + parts.length + " parts (a JWE?)");
            }
            header = Header.parse(parts[0]);
        } catch (ParseException e) {
            throw new EvidenceException(Reason.EVIDENCE_MALFORMED, "expected a compact JWS, found text that is not one ("
                    + e.getMessage() + ")", e);
        }
        // Refuse every algorithm but ES256 before anything verifies: "none" and HMAC (keyed with
        // public material) are the classic JWS forgeries.
        Algorithm alg = header.getAlgorithm();
        if (!JWSAlgorithm.ES256.equals(alg)) {
            throw new EvidenceException(Reason.EVIDENCE_BAD_SIGNATURE, "header alg: expected ES256, found "
                    + (alg == null ? "none given" : "\"" + alg.getName() + "\""));
        }
        // An ES256 signature is exactly 64 bytes (R || S); anything else was cut or padded.
        int signatureLength = parts[2].decode().length;
        if (signatureLength != 64) {
            throw new EvidenceException(Reason.EVIDENCE_MALFORMED, "signature: expected 64 bytes for ES256, found "
                    + signatureLength + " (truncated?)");
        }
        try {
            return JWSObject.parse(jws.strip());
        } catch (ParseException e) {
            throw new EvidenceException(Reason.EVIDENCE_MALFORMED, "expected a compact JWS, found text that is not one ("
                    + e.getMessage() + ")", e);
        }
    }

    private static void checkSignature(JWSObject object, X509Certificate cert) throws EvidenceException {
        String kid = object.getHeader().getKeyID();
        String expectedKid = certificateSha256(cert);
        if (!expectedKid.equals(kid)) {
            throw new EvidenceException(Reason.EVIDENCE_BAD_SIGNATURE, "header kid: expected the SHA-256 of the device"
                    + " certificate " + expectedKid + ", found " + (kid == null ? "none" : "\"" + kid + "\""));
        }
        if (!(cert.getPublicKey() instanceof ECPublicKey key)) {
            throw new EvidenceException(Reason.EVIDENCE_BAD_SIGNATURE, "device certificate key: expected EC P-256, found "
                    + cert.getPublicKey().getAlgorithm());
        }
        boolean valid;
        try {
            valid = object.verify(new ECDSAVerifier(key));
        } catch (JOSEException | IllegalStateException e) {
            throw new EvidenceException(Reason.EVIDENCE_BAD_SIGNATURE, "signature: cannot be verified with the device"
                    + " certificate's key (" + e.getMessage() + ")", e);
        }
        if (!valid) {
            throw new EvidenceException(Reason.EVIDENCE_BAD_SIGNATURE, "signature: expected one made by the key of"
                    + " device certificate " + expectedKid + ", found one that does not verify with it");
        }
    }

    /** Lower-case hex SHA-256 of the certificate's DER encoding: the header {@code kid}. */
    public static String certificateSha256(X509Certificate cert) {
        try {
            return sha256(cert.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("device certificate cannot be encoded: " + e.getMessage(), e);
        }
    }

    /** Lower-case hex SHA-256 of the compact JWS as received (ASCII): the audit trail's evidence hash. */
    public static String evidenceSha256(String jws) {
        return sha256(jws.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * The device id a certificate is for: its SAN URI {@code urn:postern:device:<id>}, which the
     * Postern PKI puts in every device certificate, or else the subject's CN.
     *
     * @throws IllegalArgumentException the certificate names no device
     */
    public static String deviceId(X509Certificate cert) {
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    // 6 = uniformResourceIdentifier (RFC 5280 GeneralName)
                    if (Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri
                            && uri.startsWith(DEVICE_URN) && uri.length() > DEVICE_URN.length()) {
                        return uri.substring(DEVICE_URN.length());
                    }
                }
            }
            LdapName name = new LdapName(cert.getSubjectX500Principal().getName());
            for (Rdn rdn : name.getRdns().reversed()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (CertificateParsingException | InvalidNameException e) {
            throw new IllegalArgumentException("device certificate: cannot read its names: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("device certificate " + cert.getSubjectX500Principal()
                + ": expected a SAN URI " + DEVICE_URN + "<id> or a CN, found neither");
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
