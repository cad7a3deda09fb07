package org.postern.agent.session;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;
import org.postern.protocol.posture.DecisionJson;

/**
 * The gateway's answer to posture evidence, as the agent keeps it: the decision JSON of
 * {@code docs/architecture.md} ({@code compliant, mode, reasons[], leaseUntil, policyVersion}; read
 * and written by {@link DecisionJson}, which also says what "allowed" means), when it came, and, for an answer
 * that was not a decision (a refusal such as {@code device.not_active}), the status and reason
 * code turned into one reason.
 */
public record Decision(boolean compliant, String mode, List<Reason> reasons, Instant leaseUntil, String policyVersion,
                       Instant at) {

    /** One reason: a stable code, what was found, and what to do about it. */
    public record Reason(String code, String message, String remediation) {
        public Reason {
            Objects.requireNonNull(code, "code");
            message = message == null ? "" : message;
            remediation = remediation == null ? "" : remediation;
        }
    }

    public Decision {
        Objects.requireNonNull(mode, "mode");
        reasons = List.copyOf(reasons);
        Objects.requireNonNull(at, "at");
    }

    /**
     * Whether tunnels may be opened under it: it grants a lease (compliant, or let in under
     * report-only) — {@link DecisionJson#allowed(Instant)}, the gateway's own rule.
     */
    public boolean allowed() {
        return DecisionJson.allowed(leaseUntil);
    }

    /** Whether it still holds at {@code now}: allowed, and its lease (if it names one) not over. */
    public boolean liveAt(Instant now) {
        return allowed() && (leaseUntil == null || now.isBefore(leaseUntil));
    }

    /** Reads the decision JSON; problems name what was expected. */
    static Decision fromJson(JsonNode n, Instant at) {
        DecisionJson d = DecisionJson.fromJson(n);
        return new Decision(d.compliant(), d.mode(), d.reasons().stream()
                .map(r -> new Reason(r.code(), r.message(), r.remediation())).toList(), d.leaseUntil(), d.policyVersion(), at);
    }

    /** A refusal that is not a decision: the status and reason header, with the body's text as the message. */
    static Decision refusal(int status, String reasonCode, String text, Instant at) {
        String code = reasonCode != null ? reasonCode : "http." + status;
        String remediation = switch (code) {
            case "device.not_active" -> "This laptop is suspended or revoked; contact IT security.";
            case "tls.client_cert_required" -> "The gateway did not get this laptop's certificate; run postern-agent status and enroll again if needed.";
            case "audit.unavailable", "registry.unavailable" -> "The gateway cannot decide now; it will be asked again.";
            default -> "";
        };
        return new Decision(false, "enforce", List.of(new Reason(code, "the gateway answered " + status
                + (text == null || text.isBlank() ? "" : ": " + text.strip()), remediation)), null, null, at);
    }

    /** As JSON for the state file: the decision JSON ({@link DecisionJson}) plus {@code at}. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new DecisionJson(compliant, mode, reasons.stream()
                .map(r -> new DecisionJson.Item(r.code(), r.message(), r.remediation())).toList(), leaseUntil, policyVersion)
                .toMap();
        m.put("at", at.toString());
        return m;
    }
}
