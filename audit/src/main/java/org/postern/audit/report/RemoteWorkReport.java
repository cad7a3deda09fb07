package org.postern.audit.report;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import org.jspecify.annotations.Nullable;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.Outcome;

/**
 * Remote-work indicators over a period {@code [since, until)}, days in UTC. Fed every record of
 * the trails, merged by time (sessions that began before the period still count for their time
 * inside it). A session is known by its gateway and its id, so that two gateways' ids never pair
 * up; every count is also kept per gateway. The definitions are in docs/audit.md ("Remote-work report").
 */
public final class RemoteWorkReport {
    private record Start(String gateway, String user, String device, Instant time) {}

    /** The reason of a refusal outside the hours of remote work (protocol {@code Reasons.OUTSIDE_HOURS}). */
    public static final String OUTSIDE_HOURS = "access.outside_hours";

    /** Sessions started, time connected and attempts outside the hours of remote work, of one user on one day. */
    public static final class Usage {
        int sessions;
        Duration connected = Duration.ZERO;
        int outsideHours;

        /** {@code access.denied} records with reason {@code access.outside_hours}: attempts outside the hours. */
        public int outsideHours() {
            return outsideHours;
        }

        /** Sessions started. */
        public int sessions() {
            return sessions;
        }

        /** Time connected (inside the period). */
        public Duration connected() {
            return connected;
        }
    }

    /** Posture decisions of one day. */
    public static final class Compliance {
        int decisions;
        int compliant;

        /** All posture decisions. */
        public int decisions() {
            return decisions;
        }

        /** Compliant posture decisions. */
        public int compliant() {
            return compliant;
        }

        /** compliant / decisions, 0 when there were none. */
        public double rate() {
            return decisions == 0 ? 0 : (double) compliant / decisions;
        }
    }

    /** An enrolled, active device with no session in the period, and when it last had one (null: never). */
    public record NotSeen(String device, String user, @Nullable Instant lastSession) {}

    /** What one gateway's records count in the period. */
    public static final class GatewayUsage {
        final Usage usage = new Usage();
        int denials;
        final Compliance compliance = new Compliance();

        public Usage usage() {
            return usage;
        }

        /** Denied records. */
        public int denials() {
            return denials;
        }

        public Compliance compliance() {
            return compliance;
        }

        void add(GatewayUsage g) {
            usage.sessions += g.usage.sessions;
            usage.connected = usage.connected.plus(g.usage.connected);
            denials += g.denials;
            compliance.decisions += g.compliance.decisions;
            compliance.compliant += g.compliance.compliant;
        }
    }

    private final Instant since;
    private final Instant until;
    private final Map<String, Start> starts = new LinkedHashMap<>();
    private final Map<String, Instant> ends = new HashMap<>();
    private final Map<String, String> enrolled = new TreeMap<>();   // device → user, in force at until
    private final java.util.Set<String> inactive = new java.util.HashSet<>(); // revoked or suspended at until
    private final Map<String, Instant> lastSession = new HashMap<>(); // device → last session.start before until
    private final Map<String, Boolean> seenInPeriod = new HashMap<>();
    /** gateway → the latest time of its records: an open session counts until its own gateway was last heard of */
    private final Map<String, Instant> last = new HashMap<>();

    /** (day, user) → usage */
    private final Map<LocalDate, Map<String, Usage>> perDay = new TreeMap<>();
    private final Map<String, Usage> perUser = new TreeMap<>();
    /** "type reason" → count */
    private final Map<String, Integer> denials = new TreeMap<>();
    private final Map<LocalDate, Compliance> compliance = new TreeMap<>();
    private final Compliance fleet = new Compliance();
    /** gateway id → its share; the report prints it when there is more than one */
    private final Map<String, GatewayUsage> perGateway = new TreeMap<>();

    /** The report of {@code [since, until)}. */
    public RemoteWorkReport(Instant since, Instant until) {
        if (!since.isBefore(until)) {
            throw new IllegalArgumentException("since " + since + " is not before until " + until + ": expected a non-empty period");
        }
        this.since = since;
        this.until = until;
    }

    public Instant since() {
        return since;
    }

    public Instant until() {
        return until;
    }

    /** (UTC day → user → usage), days and users in order. */
    public Map<LocalDate, Map<String, Usage>> perDay() {
        return java.util.Collections.unmodifiableMap(perDay);
    }

    /** User → usage over the period. */
    public Map<String, Usage> perUser() {
        return java.util.Collections.unmodifiableMap(perUser);
    }

    /** "TYPE REASON" → how many denied records (a posture decision counts once per reason code), in order. */
    public Map<String, Integer> denials() {
        return java.util.Collections.unmodifiableMap(denials);
    }

    /** UTC day → that day's posture decisions. */
    public Map<LocalDate, Compliance> compliance() {
        return java.util.Collections.unmodifiableMap(compliance);
    }

    /** The period's posture decisions. */
    public Compliance fleet() {
        return fleet;
    }

    /** Gateway id → its share ({@code -} for records without one). */
    public Map<String, GatewayUsage> perGateway() {
        return java.util.Collections.unmodifiableMap(perGateway);
    }

    /** Takes the next record of the trails, merged by time: every record, not only the period's. */
    public void accept(AuditRecord r) {
        Instant t = r.time();
        boolean inPeriod = !t.isBefore(since) && t.isBefore(until);
        String type = r.type();
        String gateway = dash(r.text("gateway"));
        last.merge(gateway, t, (a, b) -> b.isAfter(a) ? b : a);
        GatewayUsage share = perGateway.computeIfAbsent(gateway, g -> new GatewayUsage());
        switch (type) {
            case "session.start" -> {
                if (r.text("session") != null) {
                    starts.put(sessionKey(gateway, r.text("session")), new Start(gateway, dash(r.text("user")), r.text("device"), t));
                }
                if (r.text("device") != null && t.isBefore(until)) {
                    lastSession.put(r.text("device"), t);
                }
            }
            case "session.end" -> {
                if (r.text("session") != null) {
                    ends.putIfAbsent(sessionKey(gateway, r.text("session")), t);
                }
            }
            case "pki.enroll", "pki.renew" -> {
                if (r.text("device") != null && t.isBefore(until)) {
                    enrolled.put(r.text("device"), dash(r.text("user")));
                    inactive.remove(r.text("device"));
                }
            }
            case "pki.revoke", "pki.suspend" -> {
                if (r.text("device") != null && t.isBefore(until)) {
                    inactive.add(r.text("device"));
                }
            }
            case "pki.resume" -> {
                if (r.text("device") != null && t.isBefore(until)) {
                    inactive.remove(r.text("device"));
                }
            }
            default -> { }
        }
        if (!inPeriod) {
            return;
        }
        if (type.equals("posture.decision")) {
            boolean ok = "compliant".equals(r.text("result"));
            for (Compliance c : new Compliance[] {compliance.computeIfAbsent(day(t), d -> new Compliance()), fleet, share.compliance}) {
                c.decisions++;
                c.compliant += ok ? 1 : 0;
            }
        }
        if (type.equals("access.denied") && OUTSIDE_HOURS.equals(r.text("reason"))) {
            String user = dash(r.text("user"));
            usage(day(t), user).outsideHours++;
            perUser.computeIfAbsent(user, u -> new Usage()).outsideHours++;
        }
        if (Outcome.of(r) == Outcome.DENIED) {
            share.denials++;
            Denials.reasons(r).forEach(code -> denials.merge(type + " " + code, 1, Integer::sum));
        }
    }

    /** Closes the books: pairs starts with ends and splits connected time at UTC midnight. */
    public RemoteWorkReport finish() {
        for (Map.Entry<String, Start> e : starts.entrySet()) {
            Start s = e.getValue();
            Instant heard = last.get(s.gateway());
            Instant end = ends.getOrDefault(e.getKey(), heard.isAfter(until) ? until : heard);
            Instant from = s.time().isBefore(since) ? since : s.time();
            Instant to = end.isAfter(until) ? until : end;
            Usage atGateway = perGateway.get(s.gateway()).usage;
            if (!s.time().isBefore(since) && s.time().isBefore(until)) {
                usage(day(s.time()), s.user()).sessions++;
                perUser.computeIfAbsent(s.user(), u -> new Usage()).sessions++;
                atGateway.sessions++;
            }
            if (s.device() != null && (from.isBefore(to) || !s.time().isBefore(since) && s.time().isBefore(until))) {
                seenInPeriod.put(s.device(), true);
            }
            while (from.isBefore(to)) {
                Instant midnight = day(from).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
                Instant stop = midnight.isBefore(to) ? midnight : to;
                Duration d = Duration.between(from, stop);
                Usage u = usage(day(from), s.user());
                u.connected = u.connected.plus(d);
                Usage total = perUser.computeIfAbsent(s.user(), x -> new Usage());
                total.connected = total.connected.plus(d);
                atGateway.connected = atGateway.connected.plus(d);
                from = stop;
            }
        }
        return this;
    }

    /** The per-gateway counts summed: the same totals as the tables above. */
    public GatewayUsage gatewayTotal() {
        GatewayUsage total = new GatewayUsage();
        perGateway.values().forEach(total::add);
        return total;
    }

    /** A session's id is unique within its gateway only. */
    private static String sessionKey(String gateway, String session) {
        return gateway + '\n' + session;
    }

    /** Enrolled devices, active at the end of the period, with no session in it. */
    public java.util.List<NotSeen> notSeen() {
        return enrolled.entrySet().stream().filter(e -> !seenInPeriod.containsKey(e.getKey()) && !inactive.contains(e.getKey()))
                .map(e -> new NotSeen(e.getKey(), e.getValue(), lastSession.get(e.getKey()))).toList();
    }

    private Usage usage(LocalDate day, String user) {
        return perDay.computeIfAbsent(day, d -> new TreeMap<>()).computeIfAbsent(user, u -> new Usage());
    }

    /** The UTC day of {@code t}. */
    public static LocalDate day(Instant t) {
        return LocalDate.ofInstant(t, ZoneOffset.UTC);
    }

    /** Hours with two decimals, as the report prints them. */
    public static String hours(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.2f", d.toMillis() / 3_600_000.0);
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }
}
