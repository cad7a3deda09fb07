package org.postern.protocol.posture;

import java.util.Objects;

/**
 * One reason in a decision: the stable {@code code} ({@link Reason#code()}), a {@code message}
 * built from the facts ("System volume C: is not encrypted") and a {@code remediation} a
 * non-expert can follow. This is the {@code reasons[]} element of the decision JSON.
 */
public record ReasonDetail(String code, String message, String remediation) {

    public ReasonDetail {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(remediation, "remediation");
        if (Reason.fromCode(code).isEmpty()) {
            throw new IllegalArgumentException("reason code: expected one of the codes of Reason, found \"" + code + "\"");
        }
    }

    /** The reason as an enum, for a {@code switch}. */
    public Reason reason() {
        return Reason.fromCode(code).orElseThrow();
    }
}
