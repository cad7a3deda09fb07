package org.postern.protocol.posture;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The decision JSON, written by the gateway and read (and kept) by the agent:
 * {@code {compliant, mode, reasons[{code, message, remediation}], leaseUntil, policyVersion}},
 * keys in that order. It is also where "allowed" is defined, once, for both sides: a decision lets
 * the device open tunnels exactly when it grants a lease ({@link #allowed()}) — compliant, or
 * non-compliant under {@code report-only}. A decision without a lease never allows, whatever its
 * mode says (an evidence rejected under {@code report-only} grants nothing).
 *
 * @param reasons the reasons; codes are those of the catalogue ({@link Reason}, and for an answer
 *                that was not a decision, {@link org.postern.protocol.Reasons}), kept as strings so
 *                that a reader never fails on a code newer than itself
 */
public record DecisionJson(boolean compliant, String mode, List<Item> reasons, Instant leaseUntil, String policyVersion) {

    /** One {@code reasons[]} element. */
    public record Item(String code, String message, String remediation) {
        public Item {
            Objects.requireNonNull(code, "code");
            message = message == null ? "" : message;
            remediation = remediation == null ? "" : remediation;
        }

        public static Item of(ReasonDetail r) {
            return new Item(r.code(), r.message(), r.remediation());
        }
    }

    public DecisionJson {
        Objects.requireNonNull(mode, "mode");
        reasons = List.copyOf(reasons);
    }

    /** The JSON of a judged verdict. */
    public static DecisionJson of(PostureVerdict v) {
        return new DecisionJson(v.compliant(), v.mode().spelling(), v.reasons().stream().map(Item::of).toList(),
                v.leaseUntil(), v.policyVersion());
    }

    /** Whether a decision lets the device in: it grants a lease. The one definition of "allowed". */
    public static boolean allowed(Instant leaseUntil) {
        return leaseUntil != null;
    }

    /** Whether this decision lets the device in ({@link #allowed(Instant)}). */
    public boolean allowed() {
        return allowed(leaseUntil);
    }

    /** As a map for Jackson, keys in the decision's order. */
    public Map<String, Object> toMap() {
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
        return m;
    }

    /** Reads the decision JSON; problems name what was expected. */
    public static DecisionJson fromJson(JsonNode n) {
        if (n == null || !n.isObject() || !n.path("compliant").isBoolean()) {
            throw new IllegalArgumentException("expected the decision JSON {compliant, mode, reasons, leaseUntil, policyVersion}, found "
                    + (n == null ? "nothing" : n.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        List<Item> reasons = new ArrayList<>();
        for (JsonNode r : n.path("reasons")) {
            reasons.add(new Item(r.path("code").asText("unknown"), r.path("message").asText(""), r.path("remediation").asText("")));
        }
        String lease = n.path("leaseUntil").isTextual() ? n.path("leaseUntil").asText() : null;
        return new DecisionJson(n.get("compliant").booleanValue(), n.path("mode").asText("enforce"), reasons,
                lease == null ? null : Instant.parse(lease),
                n.path("policyVersion").isTextual() ? n.path("policyVersion").asText() : null);
    }
}
