package org.postern.audit.report;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.jspecify.annotations.Nullable;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.RecordStream;

/**
 * Who reached which host, when, from which device, and with which posture decision: one
 * {@link Row} per {@code flow.open}, fed the records of the trails merged by time (every record,
 * not only the rows': the {@code session.start} and posture decisions before a flow fill in what
 * an older flow record lacks).
 *
 * <p>Where each column comes from, first found wins (docs/audit.md, "Access report"):
 * <ul>
 *   <li>{@code posture}, {@code posturePolicy}, {@code accessPolicy}: the {@code flow.open}'s fields
 *       of those names; else those of its session's {@code session.start} (same gateway and
 *       {@code session}); for posture, else the device's last {@code posture.decision} on that
 *       gateway before the flow ({@code result}, {@code policyVersion}), the decision its lease
 *       stands on; else {@value #UNKNOWN}.</li>
 *   <li>{@code via}: the flow's {@code via} ({@code ssh}, {@code vpn}); a flow without one is a
 *       CONNECT tunnel: {@code connect} ({@code tls}, a CONNECT session's {@code via}, is shown as
 *       {@code connect} too).</li>
 * </ul>
 * Memory: one entry per open session and one per device, never the rows: {@link #accept} hands
 * each row back as its flow is read.
 */
public final class AccessReport {
    /** Shown for a value no record gives. */
    public static final String UNKNOWN = "unknown";

    /**
     * One flow.
     *
     * @param time          the {@code flow.open}'s time
     * @param gateway       the gateway that admitted it ({@code -} when the record has none)
     * @param session       the session id ({@code -} when none)
     * @param flow          the flow id ({@code -} when none)
     * @param user          the device owner ({@code -} when none)
     * @param device        the device id ({@code -} when none)
     * @param dest          the destination as asked, {@code host:port} ({@code -} when none)
     * @param destAddress   the address connected to ({@code -} when none)
     * @param via           {@code connect}, {@code ssh} or {@code vpn}
     * @param posture       the posture decision's result ({@code compliant}, …) or {@value #UNKNOWN}
     * @param posturePolicy the posture policy version or {@value #UNKNOWN}
     * @param accessPolicy  the access policy version or {@value #UNKNOWN}
     */
    public record Row(Instant time, String gateway, String session, String flow, String user, String device, String dest,
                      String destAddress, String via, String posture, String posturePolicy, String accessPolicy) {}

    /**
     * Up to a number of rows.
     *
     * @param rows      the first rows, in merged order
     * @param total     how many rows there were in all
     */
    public record Result(List<Row> rows, long total) {
        public Result {
            rows = List.copyOf(rows);
        }

        /** Whether rows were left out for the limit. */
        public boolean truncated() {
            return total > rows.size();
        }
    }

    /** What a session's start (or a device's last decision) says, for flows that do not say it. */
    private record Known(@Nullable String posture, @Nullable String posturePolicy, @Nullable String accessPolicy) {}

    private final Predicate<AuditRecord> rows;
    /** gateway \n session → its session.start's values; dropped at session.end */
    private final Map<String, Known> sessions = new HashMap<>();
    /** gateway \n device → its last posture decision */
    private final Map<String, Known> decisions = new HashMap<>();

    /** @param rows which {@code flow.open} records become rows (an {@code AuditFilter}, say) */
    public AccessReport(Predicate<AuditRecord> rows) {
        this.rows = rows;
    }

    /** The first {@code maxRows} rows of {@code records} (closed after) and how many there were. */
    public static Result run(RecordStream records, Predicate<AuditRecord> rows, int maxRows) {
        if (maxRows < 0) {
            throw new IllegalArgumentException("maxRows: expected 0 or more, found " + maxRows);
        }
        AccessReport report = new AccessReport(rows);
        List<Row> shown = new ArrayList<>();
        long total = 0;
        try (records) {
            for (AuditRecord r = records.next(); r != null; r = records.next()) {
                Row row = report.accept(r);
                if (row != null) {
                    total++;
                    if (shown.size() < maxRows) {
                        shown.add(row);
                    }
                }
            }
        }
        return new Result(shown, total);
    }

    /** Takes the next record; answers its row when it is a {@code flow.open} the filter keeps, else null. */
    public @Nullable Row accept(AuditRecord r) {
        String gateway = dash(r.text("gateway"));
        String session = r.text("session");
        switch (r.type()) {
            case "session.start" -> {
                if (session != null) {
                    sessions.put(gateway + '\n' + session, new Known(r.text("posture"), r.text("posturePolicy"), r.text("accessPolicy")));
                }
                return null;
            }
            case "session.end" -> {
                if (session != null) {
                    sessions.remove(gateway + '\n' + session);
                }
                return null;
            }
            case "posture.decision" -> {
                if (r.text("device") != null && r.text("result") != null) {
                    decisions.put(gateway + '\n' + r.text("device"), new Known(r.text("result"), r.text("policyVersion"), null));
                }
                return null;
            }
            case "flow.open" -> {
                return rows.test(r) ? row(r, gateway, session) : null;
            }
            default -> {
                return null;
            }
        }
    }

    private Row row(AuditRecord r, String gateway, @Nullable String session) {
        Known start = session == null ? null : sessions.get(gateway + '\n' + session);
        Known decision = r.text("device") == null ? null : decisions.get(gateway + '\n' + r.text("device"));
        String posture = first(r.text("posture"), start == null ? null : start.posture(), decision == null ? null : decision.posture());
        String posturePolicy = first(r.text("posturePolicy"), start == null ? null : start.posturePolicy(),
                decision == null ? null : decision.posturePolicy());
        String accessPolicy = first(r.text("accessPolicy"), start == null ? null : start.accessPolicy(), null);
        String via = r.text("via");
        via = via == null || via.isEmpty() || via.equals("tls") ? "connect" : via;
        return new Row(r.time(), gateway, dash(session), dash(r.text("flow")), dash(r.text("user")), dash(r.text("device")),
                dash(r.text("dest")), dash(r.text("destAddress")), via, posture, posturePolicy, accessPolicy);
    }

    private static String first(@Nullable String a, @Nullable String b, @Nullable String c) {
        for (String s : new String[] {a, b, c}) {
            if (s != null && !s.isEmpty()) {
                return s;
            }
        }
        return UNKNOWN;
    }

    private static String dash(@Nullable String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }
}
