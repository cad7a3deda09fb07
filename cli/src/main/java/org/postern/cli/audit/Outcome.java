package org.postern.cli.audit;

import java.util.Set;

/**
 * Whether a record tells of access refused or withdrawn ({@code denied}) or of anything else
 * ({@code allowed}). The rule is documented in docs/audit.md ("Searching and exporting").
 */
enum Outcome {
    ALLOWED, DENIED;

    /** Reasons for which the gateway itself ended a session: access withdrawn, not a normal end. */
    static final Set<String> FORCED_END = Set.of("non_compliant", "revoked", "suspended");

    static Outcome of(AuditRecord r) {
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
    static String reasonOf(AuditRecord r) {
        String reason = r.text("reason");
        if (reason == null && "posture.decision".equals(r.type())) {
            reason = r.text("reasons");
        }
        return reason == null || reason.isEmpty() ? "-" : reason;
    }

    String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
