package org.postern.pki.registry;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * A certificate the CA issued, as the registry keeps it. {@code deviceId} is null for server,
 * admin and OCSP responder certificates. {@code revokedAt}/{@code revocationReason} are null
 * while the certificate is good.
 */
public record CertificateRecord(
        BigInteger serial,
        Kind kind,
        @Nullable String deviceId,
        String subject,
        String sha256,
        Instant notBefore,
        Instant notAfter,
        Instant issuedAt,
        @Nullable Instant revokedAt,
        @Nullable RevocationReason revocationReason,
        byte[] der) {

    /** What the certificate is for; one profile each. */
    public enum Kind { device, server, admin, ocsp }

    public CertificateRecord {
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(sha256, "sha256");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(der, "der");
        if ((revokedAt == null) != (revocationReason == null)) {
            throw new IllegalArgumentException("revokedAt and revocationReason go together");
        }
    }

    public boolean revoked() {
        return revokedAt != null;
    }
}
