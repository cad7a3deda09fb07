package org.postern.gateway.console;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * What the console's templates ({@code src/main/jte/console}) render: plain values, built by
 * {@link ConsolePages} on a worker. Templates escape every value by construction (jte, content type
 * HTML), so these hold raw text as the registry and the trail have it, hostile or not.
 */
public final class ConsoleViews {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);

    private ConsoleViews() {
    }

    /** A time as the console shows it, or an em dash. */
    public static String time(@Nullable Instant t) {
        return t == null ? "\u2014" : TIME.format(t);
    }

    /** A nullable text as the console shows it. */
    public static String text(@Nullable Object o) {
        return o == null ? "\u2014" : o.toString();
    }

    /**
     * The frame of every page: who is signed in, what they may do, the CSRF token their forms carry.
     *
     * @param title   the page's title
     * @param active  the navigation entry to mark: dashboard, devices, sessions, admins, policy, audit, access, denials, verify, selfcheck
     * @param admin   the admin certificate's name
     * @param role    security-admin or auditor
     * @param mayAct  whether forms that change state are shown (the server checks again on every POST)
     * @param csrf    the token every POST must carry
     * @param gateway this gateway's id
     * @param now     when the page was made
     */
    public record Chrome(String title, String active, String admin, String role, boolean mayAct, String csrf,
                         String gateway, Instant now) {
        public Chrome {
            Objects.requireNonNull(title, "title");
            Objects.requireNonNull(active, "active");
            Objects.requireNonNull(admin, "admin");
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(csrf, "csrf");
            Objects.requireNonNull(gateway, "gateway");
            Objects.requireNonNull(now, "now");
        }

        public Chrome titled(String otherTitle, String otherActive) {
            return new Chrome(otherTitle, otherActive, admin, role, mayAct, csrf, gateway, now);
        }
    }

    /** One bar of a {@link BarChart}, placed by the chart. */
    public record Bar(String label, double value, String shown, double x, double y, double width, double height) {
    }

    /**
     * A bar chart drawn server-side as SVG (no script), with its numbers also in a table.
     *
     * @param title what it shows
     * @param unit  the values' unit, for the table header
     * @param bars  in order
     */
    public record BarChart(String title, String unit, List<Bar> bars, double max) {
        public static final double WIDTH = 640;
        public static final double HEIGHT = 160;
        public static final double AXIS = 24;

        public BarChart {
            bars = List.copyOf(bars);
        }

        /**
         * Places {@code values} (label to value, in order) as bars scaled to the largest.
         *
         * @param format how a value is written in the table and the tooltip
         */
        public static BarChart of(String title, String unit, Map<String, Double> values, java.util.function.DoubleFunction<String> format) {
            double max = values.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
            int n = Math.max(1, values.size());
            double slot = WIDTH / n;
            double width = Math.max(1, slot * 0.8);
            double room = HEIGHT - AXIS;
            List<Bar> bars = new java.util.ArrayList<>(values.size());
            int i = 0;
            for (Map.Entry<String, Double> e : values.entrySet()) {
                double v = e.getValue();
                double h = max <= 0 ? 0 : room * v / max;
                bars.add(new Bar(e.getKey(), v, format.apply(v), i * slot + (slot - width) / 2, room - h, width, h));
                i++;
            }
            return new BarChart(title, unit, bars, max);
        }

        /** Every label when few, else every few so they don't overlap. */
        public boolean labelled(int index) {
            int step = Math.max(1, (int) Math.ceil(bars.size() / 10.0));
            return index % step == 0;
        }
    }

    /** A live session, as {@code postern gateway sessions} shows it. */
    public record SessionRow(String id, String device, String user, String source, String via, Instant since,
                             int flows, long bytesUp, long bytesDown, @Nullable String address) {
    }

    /** A registered device in a list. */
    public record DeviceRow(String id, String owner, List<String> groups, String status, @Nullable Instant enrolledAt,
                            @Nullable Instant lastSeen, @Nullable String lastPosture) {
    }

    /** A certificate in a list: a device's, or an admin's. */
    public record CertRow(String serial, String kind, @Nullable String device, String subject, Instant notAfter,
                          String status, @Nullable String revocationReason) {
    }

    /** The audit trail's state on the dashboard. */
    public record TrailState(String dir, long records, @Nullable Instant lastCheckpoint,
                             @Nullable String verification, @Nullable Instant verifiedAt, boolean writable,
                             @Nullable String problem, @Nullable String siem, String index) {
    }

    /** One day of the remote-work indicators. */
    public record DayRow(String day, long sessions, double hours, long decisions, long compliant, long denials) {
        public String rate() {
            return decisions == 0 ? "\u2014" : String.format(java.util.Locale.ROOT, "%.1f %%", 100.0 * compliant / decisions);
        }
    }

    /** A count by key (reasons, devices). */
    public record Count(String key, long count) {
    }

    /** The dashboard, for both roles. */
    public record Dashboard(Chrome chrome, List<SessionRow> sessions, List<DayRow> days, BarChart sessionsPerDay,
                            BarChart hoursPerDay, BarChart compliance, BarChart denials, List<Count> denialReasons,
                            int unseenDays, List<DeviceRow> unseen, int expiringDays, List<CertRow> expiring, TrailState trail,
                            SelfcheckState selfcheck) {
    }

    /**
     * The last selfcheck on the dashboard.
     *
     * @param worst  info, warning or critical; null when it has not run since the gateway started
     * @param ranAt  when it ran, or null
     * @param counts like "0 critical, 3 warning, 11 info", or empty
     */
    public record SelfcheckState(@Nullable String worst, @Nullable Instant ranAt, String counts) {
    }

    /** One selfcheck finding, as {@code postern selfcheck} prints it: severity, check, what was found, the fix. */
    public record SelfcheckRow(String severity, String check, String message, String fix) {
    }

    /**
     * The selfcheck page: the last run's findings, worst first, and the button to run it again.
     *
     * @param ranAt    when the shown run started; null when none ran since the gateway started
     * @param took     how long it took, like "1.2 s"
     * @param by       the admin who ran it
     * @param worst    its worst severity
     * @param counts   like "0 critical, 3 warning, 11 info"
     * @param note     what the last request did (ran, or found a run under way), or null
     */
    public record SelfcheckPage(Chrome chrome, @Nullable Instant ranAt, String took, String by, String worst, String counts,
                                List<SelfcheckRow> findings, @Nullable String note) {
    }

    /** The device list, with the register form for a security admin. */
    public record Devices(Chrome chrome, String query, List<DeviceRow> devices, int total) {
    }

    /** The last posture decision of a device, from the trail, with each check. */
    public record PostureRow(Instant time, String result, @Nullable String policy, List<String> reasons,
                             @Nullable String evidence) {
    }

    /**
     * One device: its record, certificates, last posture decision, live sessions.
     *
     * @param charter the remote-work charter the device's owner accepted last ({@code version 2 at …}), or null: none
     */
    public record DeviceDetail(Chrome chrome, DeviceRow device, @Nullable String hardwareSerial, Instant createdAt,
                               List<CertRow> certificates, @Nullable PostureRow posture, List<SessionRow> sessions,
                               List<String> revocationReasons, @Nullable String charter) {
    }

    /** What registering a device gave: the one-time token, shown only on this page. */
    public record Registered(Chrome chrome, String device, String owner, String token, Instant expiresAt,
                             String enrollCommand) {
    }

    /** Live sessions. */
    public record Sessions(Chrome chrome, List<SessionRow> sessions) {
    }

    /** Admin certificates. */
    public record Admins(Chrome chrome, List<AdminRow> admins, List<String> revocationReasons) {
    }

    /** One admin certificate. */
    public record AdminRow(String name, String role, String serial, Instant notAfter, String status,
                           @Nullable String revocationReason, boolean self) {
    }

    /** One access rule as the policy page shows it. */
    public record RuleRow(String name, List<String> groups, List<String> to, List<String> protocols) {
    }

    /** Who could reach what under a policy: one row per device. */
    public record ReachRow(String device, String owner, List<String> groups, List<String> rules, List<String> destinations,
                           List<String> gained, List<String> lost) {
    }

    /**
     * The policy page: the access rules in force, the posture policy, and (after a preview) a draft's
     * rules, its problems, and who could reach what under it.
     */
    public record Policy(Chrome chrome, String version, List<RuleRow> rules, List<ReachRow> reach, String posture,
                         @Nullable String draft, List<String> problems, @Nullable List<RuleRow> draftRules,
                         @Nullable List<ReachRow> draftReach, boolean reloadable) {
    }

    /** The filter of the audit pages, as typed (echoed back into the form). */
    public record Filter(String since, String until, String user, String device, String host, String type, String reason,
                         String outcome) {
        public static final Filter EMPTY = new Filter("", "", "", "", "", "", "", "");

        /** The filter as a query string (for paging and export links), without a leading '?'. */
        public String query() {
            StringBuilder b = new StringBuilder();
            add(b, "since", since);
            add(b, "until", until);
            add(b, "user", user);
            add(b, "device", device);
            add(b, "host", host);
            add(b, "type", type);
            add(b, "reason", reason);
            add(b, "outcome", outcome);
            return b.toString();
        }

        private static void add(StringBuilder b, String name, String value) {
            if (!value.isEmpty()) {
                if (!b.isEmpty()) {
                    b.append('&');
                }
                b.append(name).append('=').append(java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8));
            }
        }
    }

    /** One record in the audit search. */
    public record RecordRow(String time, String gateway, long seq, String type, String user, String device, String dest,
                            String reason, String session, String json) {
    }

    /** A page of the audit search. */
    public record Search(Chrome chrome, Filter filter, @Nullable String error, List<RecordRow> records, boolean first,
                         @Nullable String next, String counted, List<String> formats) {
    }

    /** One row of the access report. */
    public record AccessRow(String time, String user, String device, String dest, String via, String session,
                            String posture, String posturePolicy, String accessPolicy) {
    }

    /** A page of the access report. */
    public record Access(Chrome chrome, Filter filter, @Nullable String error, List<AccessRow> rows, boolean first,
                         @Nullable String next) {
    }

    /** Denials per device and per reason. */
    public record Denials(Chrome chrome, Filter filter, @Nullable String error, List<Count> byReason, List<Count> byDevice,
                          BarChart chart) {
    }

    /** The verification page: what {@code postern audit verify} says about this gateway's trail. */
    public record Verify(Chrome chrome, String dir, boolean ok, long records, int segments, long checkpoints,
                         @Nullable String firstBreak, List<String> findings, Instant ranAt) {
    }

    /** The answer to an action: what was done, or why not. */
    public record Outcome(Chrome chrome, boolean ok, String message, List<String> details, String back) {
    }
}
