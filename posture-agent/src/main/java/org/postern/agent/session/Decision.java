package org.postern.agent.session;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The gateway's answer to posture evidence, as the agent keeps it: the decision JSON of DESIGN.md
 * ({@code compliant, mode, reasons[], leaseUntil, policyVersion}), when it came, and, for an answer
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

    /** Whether tunnels may be opened under it: compliant, or the gateway only reports (report-only). */
    public boolean allowed() {
        return compliant || "report-only".equals(mode);
    }

    /** Whether it still holds at {@code now}: allowed, and its lease (if it names one) not over. */
    public boolean liveAt(Instant now) {
        return allowed() && (leaseUntil == null || now.isBefore(leaseUntil));
    }

    /** Reads the decision JSON; problems name what was expected. */
    static Decision fromJson(JsonNode n, Instant at) {
        if (n == null || !n.isObject() || !n.path("compliant").isBoolean()) {
            throw new IllegalArgumentException("expected the decision JSON {compliant, mode, reasons, leaseUntil, policyVersion}, found "
                    + (n == null ? "nothing" : n.getNodeType().name().toLowerCase(java.util.Locale.ROOT)));
        }
        List<Reason> reasons = new ArrayList<>();
        for (JsonNode r : n.path("reasons")) {
            reasons.add(new Reason(r.path("code").asText("unknown"), r.path("message").asText(""), r.path("remediation").asText("")));
        }
        String lease = n.path("leaseUntil").isTextual() ? n.path("leaseUntil").asText() : null;
        return new Decision(n.get("compliant").booleanValue(), n.path("mode").asText("enforce"), reasons,
                lease == null ? null : Instant.parse(lease), n.path("policyVersion").isTextual() ? n.path("policyVersion").asText() : null, at);
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

    /** As JSON for the state file, keys in the decision's order plus {@code at}. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("compliant", compliant);
        m.put("mode", mode);
        m.put("reasons", reasons.stream().map(r -> {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("code", r.code());
            o.put("message", r.message());
            o.put("remediation", r.remediation());
            return o;
        }).toList());
        m.put("leaseUntil", leaseUntil == null ? null : leaseUntil.toString());
        m.put("policyVersion", policyVersion);
        m.put("at", at.toString());
        return m;
    }
}
