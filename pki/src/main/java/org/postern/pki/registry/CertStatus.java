package org.postern.pki.registry;

import java.time.Instant;

/** What the registry says of a serial number, for OCSP and handshake checks. */
public sealed interface CertStatus {
    record Good(CertificateRecord certificate) implements CertStatus {}
    record Revoked(CertificateRecord certificate, Instant revokedAt, RevocationReason reason) implements CertStatus {}
    record Unknown() implements CertStatus {}
}
