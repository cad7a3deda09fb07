package org.postern.agent.session;

import java.io.IOException;
import java.util.Set;

import org.postern.protocol.Reasons;

/**
 * The gateway cannot serve anyone now — its registry or its audit trail is out of reach — so
 * posture answered {@code 503 registry.unavailable} or {@code 503 audit.unavailable}. That says
 * nothing about this laptop: another gateway may well be able to decide, so {@code up} leaves this
 * one and moves on to the next candidate (docs/agent.md "Failover between gateways") rather than
 * asking the same connection again and again.
 */
final class GatewayFault extends IOException {
    /** The 503 reason codes that are the gateway's own trouble. */
    static final Set<String> REASONS = Set.of(Reasons.REGISTRY_UNAVAILABLE.code(), Reasons.AUDIT_UNAVAILABLE.code());

    GatewayFault(int status, String reason) {
        super("the gateway answered " + status + " " + reason + " (it cannot decide now)");
    }

    /** Whether a posture answer is a gateway fault rather than a judgement of this laptop. */
    static boolean is(int status, String reason) {
        return status == 503 && reason != null && REASONS.contains(reason);
    }
}
