package org.postern.pki.registry;

/**
 * Why a device was revoked, as an operator says it, with the RFC 5280 CRLReason code that goes
 * into the CRL and OCSP answers. A lost laptop's key must be presumed compromised.
 */
public enum RevocationReason {
    keyCompromise(1),
    lost(1),
    retired(5),
    superseded(4),
    /** Not an operator choice: a suspended device's certificates are on hold. */
    certificateHold(6);

    private final int crlReason;

    RevocationReason(int crlReason) {
        this.crlReason = crlReason;
    }

    /** The RFC 5280 {@code CRLReason} value. */
    public int crlReason() {
        return crlReason;
    }

    /** Parses an operator's reason; {@code certificateHold} is set by suspension only. */
    public static RevocationReason fromOperator(String s) {
        for (RevocationReason r : values()) {
            if (r != certificateHold && r.name().equals(s)) {
                return r;
            }
        }
        throw new IllegalArgumentException("revocation reason: expected keyCompromise|lost|retired|superseded, found \"" + s + "\"");
    }
}
