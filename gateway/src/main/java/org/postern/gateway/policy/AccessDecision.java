package org.postern.gateway.policy;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
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

    /** Every rule that would allow it is outside its hours ({@code hours:} of the rule). */
    String OUTSIDE_HOURS = Reasons.OUTSIDE_HOURS.code();

    /**
     * Allowed by the rule named {@code rule}.
     *
     * @param until when the window of hours that allowed it closes, or null: the rule has no hours
     *              (always open). With {@code access.endSessionsAtWindowEnd} the flow ends then.
     */
    record Allowed(String rule, @Nullable Instant until) implements AccessDecision {
        public Allowed {
            Objects.requireNonNull(rule, "rule");
        }

        /** Allowed by a rule that is always open. */
        public Allowed(String rule) {
            this(rule, null);
        }
    }

    /**
     * Refused.
     *
     * @param reason one of {@link #NO_RULE}, {@link #FORBIDDEN_ADDRESS}, {@link #BAD_DESTINATION},
     *               {@link #OUTSIDE_HOURS}
     * @param detail what was asked and what matched or did not, for the audit trail
     * @param remedy what the user can do, for the peer and the trail ({@code access opens Monday 08:00
     *               Africa/Casablanca}), or null
     */
    record Denied(String reason, String detail, @Nullable String remedy) implements AccessDecision {
        public Denied {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }

        public Denied(String reason, String detail) {
            this(reason, detail, null);
        }
    }
}
