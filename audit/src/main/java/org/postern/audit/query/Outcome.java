package org.postern.audit.query;

import java.util.Set;

/**
 * Whether a record tells of access refused or withdrawn ({@code denied}) or of anything else
 * ({@code allowed}). The rule is documented in docs/audit.md ("Searching and exporting").
 */
public enum Outcome {
    ALLOWED, DENIED;

    /** Reasons for which the gateway itself ended a session: access withdrawn, not a normal end. */
    public static final Set<String> FORCED_END = Set.of("non_compliant", "revoked", "suspended");

    /** The outcome of {@code r} by the documented rule. */
    public static Outcome of(AuditRecord r) {
        String type = r.type();
        if (type == null) {
            return ALLOWED;
        }
        boolean denied = switch (type) {
            case "access.denied", "tls.rejected" -> true;
            case "posture.decision" -> "non_compliant".equals(r.text("result"));
            case "session.end" -> FORCED_END.contains(r.text("reason"));
            default -> type.endsWith(".denied") || type.endsWith(".rejected");
        };
        return denied ? DENIED : ALLOWED;
    }

    /** The reason of a denial as a code: {@code reason}, or for posture the {@code reasons} codes. */
    public static String reasonOf(AuditRecord r) {
        String reason = r.text("reason");
        if (reason == null && "posture.decision".equals(r.type())) {
            reason = r.text("reasons");
        }
        return reason == null || reason.isEmpty() ? "-" : reason;
    }

    /** {@code allowed} or {@code denied}, as the CLI, the exports and the console write it. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * {@code allowed} or {@code denied}, any case.
     *
     * @throws IllegalArgumentException naming {@code what} (an option or parameter) when it is neither
     */
    public static Outcome parse(String what, String text) {
        return switch (text.toLowerCase(java.util.Locale.ROOT)) {
            case "allowed" -> ALLOWED;
            case "denied" -> DENIED;
            default -> throw new IllegalArgumentException(what + ": expected allowed or denied, found \"" + text + "\"");
        };
    }
}
