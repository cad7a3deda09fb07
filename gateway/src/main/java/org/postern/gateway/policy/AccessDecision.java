package org.postern.gateway.policy;

import java.util.Objects;
import org.postern.protocol.Reasons;

/**
 * What the access policy decided for one destination. The peer gets only the reason code
 * (a {@code Postern-Reason} header); {@link Denied#detail()} goes to the audit trail.
 */
public sealed interface AccessDecision permits AccessDecision.Allowed, AccessDecision.Denied {

    /** No rule lets these groups reach this destination. */
    String NO_RULE = Reasons.NO_RULE.code();
    /** The address is loopback, link-local, metadata, unspecified, multicast or the gateway's own. */
    String FORBIDDEN_ADDRESS = Reasons.FORBIDDEN_ADDRESS.code();
    /** The request itself is malformed: port 0 or above 65535, a bad host, no address. */
    String BAD_DESTINATION = Reasons.BAD_DESTINATION.code();

    /** Allowed by the rule named {@code rule}. */
    record Allowed(String rule) implements AccessDecision {
        public Allowed {
            Objects.requireNonNull(rule, "rule");
        }
    }

    /**
     * Refused.
     *
     * @param reason one of {@link #NO_RULE}, {@link #FORBIDDEN_ADDRESS}, {@link #BAD_DESTINATION}
     * @param detail what was asked and what matched or did not, for the audit trail
     */
    record Denied(String reason, String detail) implements AccessDecision {
        public Denied {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }
    }
}
