package org.postern.pki.ca;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

import org.postern.keys.Fingerprints;

/**
 * An unlocked CA: the root certificate (its key stays offline after {@code init}), the issuing
 * CA that signs device, server and admin certificates and CRLs, and the delegated OCSP responder.
 */
public record CertificateAuthority(String name, X509Certificate root, CaSigner issuing, CaSigner ocsp) {

    public CertificateAuthority {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(issuing, "issuing");
        Objects.requireNonNull(ocsp, "ocsp");
    }

    /** Issuing CA first, then the root: the TLS chain order (EST {@code cacerts} holds both, as an unordered DER SET). */
    public List<X509Certificate> chain() {
        return List.of(issuing.certificate(), root);
    }

    /** The SHA-256 of the root certificate, the fingerprint an agent pins at enrollment. */
    public String rootSha256() {
        return Fingerprints.sha256(root);
    }
}
