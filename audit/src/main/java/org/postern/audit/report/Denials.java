package org.postern.audit.report;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.Outcome;

/** The one rule the reports count denials by, so that they agree with each other and with docs/audit.md. */
final class Denials {
    private Denials() {}

    /**
     * The reason codes a denied record counts under: a non-compliant posture decision once under
     * each of its {@code reasons} codes, any other denied record under {@link Outcome#reasonOf}
     * ({@code -} when it has none). Empty for a record that is not denied.
     */
    static List<String> reasons(AuditRecord r) {
        if (Outcome.of(r) != Outcome.DENIED) {
            return List.of();
        }
        JsonNode codes = r.json().path("reasons");
        if ("posture.decision".equals(r.type()) && codes.isArray() && !codes.isEmpty()) {
            List<String> list = new ArrayList<>(codes.size());
            codes.forEach(c -> list.add(c.asText()));
            return list;
        }
        return List.of(Outcome.reasonOf(r));
    }
}
