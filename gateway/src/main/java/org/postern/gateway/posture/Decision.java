package org.postern.gateway.posture;

import java.util.Objects;

import org.postern.config.posture.PosturePolicy;
import org.postern.protocol.posture.EvidenceException;
import org.postern.protocol.posture.PostureVerdict;

/**
 * What {@link PostureService#evidence} decided; each kind has one answer on the wire
 * (see {@code docs/pipeline.md}).
 */
public sealed interface Decision {

    /**
     * The evidence was genuine and the posture judged: compliant, non-compliant, or non-compliant
     * but let in under {@code report-only}. HTTP 200 with the decision JSON.
     */
    record Judged(PostureVerdict verdict) implements Decision {
        public Judged {
            Objects.requireNonNull(verdict, "verdict");
        }
    }

    /**
     * The evidence could not be accepted (bad signature, unknown or used nonce, stale, malformed,
     * wrong profile): nothing was judged. HTTP 403 (400 for {@code evidence.malformed}) with the
     * decision JSON carrying the one reason, and {@code Postern-Reason}.
     */
    record Rejected(EvidenceException error, PosturePolicy.Mode mode, String policyVersion) implements Decision {
        public Rejected {
            Objects.requireNonNull(error, "error");
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(policyVersion, "policyVersion");
        }
    }

    /**
     * The device may not prove posture at all: it is no longer active, or its certificate was
     * revoked since the handshake. HTTP 403 with {@code Postern-Reason: code}, a short text.
     */
    record Refused(String code, String message) implements Decision {
        public Refused {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
        }
    }
}
