package org.postern.audit.export;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.Endpoint;
import org.postern.audit.query.Outcome;

/**
 * OCSF 1.3 events, one JSON object per line. Sessions are Tunnel Activity (4014), posture
 * decisions, rejected client certificates and enrollments are Authentication (3002), flows and
 * refused destinations are Network Activity (4001), everything else is a Base Event (0). Fields
 * with no OCSF attribute are kept under {@code unmapped}. The table is in docs/audit.md.
 */
final class OcsfFormat {
    static final String SCHEMA_VERSION = "1.3.0";

    /** Fields that the mapping places somewhere; the rest go to {@code unmapped}. */
    private static final Set<String> MAPPED = Set.of("seq", "time", "type", "gateway", "session", "device", "user", "source",
            "dest", "destAddress", "bytesUp", "bytesDown", "durationMs", "reason", "detail", "prev");

    private OcsfFormat() {}

    /** class_uid, category_uid and activity_id for a record type. */
    record Mapping(int classUid, String className, int categoryUid, String categoryName, int activityId, String activityName) {
        int typeUid() {
            return classUid * 100 + activityId;
        }
    }

    static Mapping mapping(String type) {
        return switch (type) {
            case "session.start" -> new Mapping(4014, "Tunnel Activity", 4, "Network Activity", 1, "Connect");
            case "session.end" -> new Mapping(4014, "Tunnel Activity", 4, "Network Activity", 2, "Disconnect");
            case "flow.open" -> new Mapping(4001, "Network Activity", 4, "Network Activity", 1, "Open");
            case "flow.close" -> new Mapping(4001, "Network Activity", 4, "Network Activity", 2, "Close");
            case "access.denied" -> new Mapping(4001, "Network Activity", 4, "Network Activity", 5, "Refuse");
            case "posture.decision", "tls.rejected" -> new Mapping(3002, "Authentication", 3, "Identity & Access Management", 1, "Logon");
            case "pki.enroll", "pki.enroll.denied", "pki.renew", "pki.renew.denied" ->
                    new Mapping(3002, "Authentication", 3, "Identity & Access Management", 99, "Other");
            default -> new Mapping(0, "Base Event", 0, "Uncategorized", 99, "Other");
        };
    }

    static ObjectNode event(AuditRecord r) {
        String type = r.type();
        Mapping m = mapping(type);
        Outcome outcome = Outcome.of(r);
        ObjectNode e = ExportFormat.JSON.createObjectNode();
        e.put("class_uid", m.classUid()).put("class_name", m.className())
                .put("category_uid", m.categoryUid()).put("category_name", m.categoryName())
                .put("activity_id", m.activityId()).put("activity_name", m.activityName())
                .put("type_uid", m.typeUid()).put("type_name", m.className() + ": " + m.activityName())
                .put("time", r.time().toEpochMilli());
        int cefSeverity = CefFormat.severity(r, outcome);
        int severityId = cefSeverity >= 7 ? 4 : cefSeverity >= 5 ? 3 : cefSeverity >= 3 ? 2 : 1;
        e.put("severity_id", severityId).put("severity", switch (severityId) {
            case 4 -> "High";
            case 3 -> "Medium";
            case 2 -> "Low";
            default -> "Informational";
        });
        e.put("status_id", outcome == Outcome.DENIED ? 2 : 1).put("status", outcome == Outcome.DENIED ? "Failure" : "Success");
        String reason = r.text("reason") != null ? r.text("reason") : r.text("reasons");
        if (reason != null && !reason.isEmpty()) {
            e.put("status_code", reason);
        }
        if (r.text("detail") != null) {
            e.put("status_detail", r.text("detail"));
        }
        e.put("message", type);

        ObjectNode meta = e.putObject("metadata");
        meta.put("version", SCHEMA_VERSION);
        meta.putObject("product").put("name", "Postern Gateway").put("vendor_name", "Postern").put("version", "0.1.0");
        if (r.number("seq") >= 0) {
            meta.put("sequence", r.number("seq"));
        }
        meta.put("log_name", r.location().substring(0, r.location().lastIndexOf(':')));
        meta.put("event_code", type);
        if (r.text("gateway") != null) {
            meta.put("log_provider", r.text("gateway"));
        }

        if (r.text("user") != null) {
            e.putObject("user").put("name", r.text("user"));
        }
        if (r.text("device") != null) {
            e.putObject("device").put("name", r.text("device")).put("type_id", 0);
        }
        if (r.text("session") != null) {
            e.putObject("session").put("uid", r.text("session"));
        }
        if (r.text("source") != null) {
            endpoint(e.putObject("src_endpoint"), Endpoint.parse(r.text("source")));
        }
        if (r.text("dest") != null || r.text("destAddress") != null) {
            ObjectNode dst = e.putObject("dst_endpoint");
            if (r.text("dest") != null) {
                Endpoint asked = Endpoint.parse(r.text("dest"));
                dst.put("hostname", asked.host());
                if (asked.port() >= 0) {
                    dst.put("port", asked.port());
                }
            }
            if (r.text("destAddress") != null) {
                endpoint(dst, Endpoint.parse(r.text("destAddress")));
            }
        }
        if (r.number("bytesUp") >= 0 || r.number("bytesDown") >= 0) {
            ObjectNode traffic = e.putObject("traffic");
            long up = Math.max(0, r.number("bytesUp"));
            long down = Math.max(0, r.number("bytesDown"));
            traffic.put("bytes_out", up).put("bytes_in", down).put("bytes", up + down);
        }
        if (r.number("durationMs") >= 0) {
            e.put("duration", r.number("durationMs"));
            e.put("end_time", r.time().toEpochMilli());
            e.put("start_time", r.time().toEpochMilli() - r.number("durationMs"));
        }
        ObjectNode unmapped = ExportFormat.JSON.createObjectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = r.json().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!MAPPED.contains(f.getKey())) {
                unmapped.set(f.getKey(), f.getValue());
            }
        }
        if (!unmapped.isEmpty()) {
            e.set("unmapped", unmapped);
        }
        return e;
    }

    private static void endpoint(ObjectNode node, Endpoint p) {
        node.put(p.isAddress() ? "ip" : "hostname", p.host());
        if (p.port() >= 0) {
            node.put("port", p.port());
        }
    }
}
