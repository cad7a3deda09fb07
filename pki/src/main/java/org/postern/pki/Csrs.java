package org.postern.pki;

import java.io.IOException;
import java.security.PublicKey;
import java.util.Base64;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;

/** Decoding and checking of EST request bodies: base64 DER PKCS#10 with an ECDSA P-256 key. */
final class Csrs {
    /**
     * BouncyCastle verifies P-256 several times faster than the JDK's constant-time code, and a
     * signature check needs no constant time: everything in it is public. Not registered globally.
     */
    private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    private Csrs() {
    }

    /** Decodes the base64 body (line breaks allowed, as RFC 7030 bodies have them). */
    static byte[] base64(byte[] body) {
        try {
            return Base64.getMimeDecoder().decode(strictBase64(body));
        } catch (IllegalArgumentException e) {
            throw new PkiException("est.bad_base64", 400, "request body is not base64",
                    "expected a base64 DER PKCS#10 body, found invalid base64: " + e.getMessage());
        }
    }

    /** The MIME decoder silently skips foreign characters; a body with any is not base64. */
    private static byte[] strictBase64(byte[] body) {
        for (byte c : body) {
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '+' || c == '/' || c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t';
            if (!ok) {
                throw new IllegalArgumentException("byte 0x" + Integer.toHexString(c & 0xff) + " is not a base64 character");
            }
        }
        if (body.length == 0) {
            throw new IllegalArgumentException("the body is empty");
        }
        return body;
    }

    /** Parses the CSR, verifies its self-signature and requires an ECDSA P-256 key. */
    static PKCS10CertificationRequest parseAndCheck(byte[] der) {
        PKCS10CertificationRequest csr;
        try {
            csr = new PKCS10CertificationRequest(der);
        } catch (IOException | RuntimeException e) {
            throw new PkiException("est.bad_csr", 400, "request is not a PKCS#10 CSR",
                    "expected a DER PKCS#10 certification request, found bytes that do not parse: " + e.getMessage());
        }
        String kind = describe(csr.getSubjectPublicKeyInfo());
        if (!kind.equals("EC P-256")) {
            throw new PkiException("est.weak_key", 400, "key must be ECDSA P-256",
                    "expected an ECDSA P-256 key in the CSR, found " + kind);
        }
        try {
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(BC).build(csr.getSubjectPublicKeyInfo()))) {
                throw new PkiException("est.bad_signature", 400, "CSR signature does not verify",
                        "the CSR's self-signature does not verify with the key it carries");
            }
        } catch (OperatorCreationException | PKCSException | IllegalStateException e) {
            // IllegalStateException: BouncyCastle's answer to a signature BIT STRING with unused
            // bits, which parses but cannot be read (found by CsrsFuzzTest)
            throw new PkiException("est.bad_signature", 400, "CSR signature does not verify",
                    "the CSR's signature cannot be checked: " + e.getMessage());
        }
        return csr;
    }

    static PublicKey publicKey(PKCS10CertificationRequest csr) {
        try {
            return new JcaPEMKeyConverter().getPublicKey(csr.getSubjectPublicKeyInfo());
        } catch (IOException | RuntimeException e) {
            throw new PkiException("est.bad_csr", 400, "CSR key is not usable",
                    "the CSR's public key does not decode: " + e.getMessage());
        }
    }

    /** "EC P-256", "EC secp192r1", "RSA-1024", … — read from the ASN.1, since the JDK cannot even load weak curves. */
    static String describe(SubjectPublicKeyInfo spki) {
        AlgorithmIdentifier alg = spki.getAlgorithm();
        if (alg.getAlgorithm().equals(PKCSObjectIdentifiers.rsaEncryption)) {
            try {
                return "RSA-" + org.bouncycastle.asn1.pkcs.RSAPublicKey.getInstance(spki.parsePublicKey()).getModulus().bitLength();
            } catch (IOException | RuntimeException e) {
                return "RSA (undecodable)";
            }
        }
        if (alg.getAlgorithm().equals(X9ObjectIdentifiers.id_ecPublicKey)) {
            if (alg.getParameters() instanceof ASN1ObjectIdentifier curve) {
                if (curve.equals(SECObjectIdentifiers.secp256r1)) {
                    return "EC P-256";
                }
                String name = ECNamedCurveTable.getName(curve);
                return "EC " + (name != null ? name : curve.getId());
            }
            return "EC with explicit curve parameters";
        }
        return "key algorithm " + alg.getAlgorithm().getId();
    }
}
