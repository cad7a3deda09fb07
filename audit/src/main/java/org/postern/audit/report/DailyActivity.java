package org.postern.audit.report;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.jspecify.annotations.Nullable;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.RecordStream;

/**
 * The console dashboard's days: per UTC day of a period {@code [since, until)}, sessions started,
 * session time, posture decisions and the compliance rate, and denials by reason. Sessions, time
 * and compliance are {@link RemoteWorkReport}'s figures summed over users (the same rules: a
 * session open at the end counts until the last record of its gateway or the end of the period,
 * whichever is earlier); denials are counted as {@link DenialReport} counts them, per day.
 * Every day of the period is listed, empty ones too, so a chart has no holes.
 */
public final class DailyActivity {
    /** The longest period: ten years of days, a bound on the result's size. */
    public static final long MAX_DAYS = 3660;

    /**
     * One UTC day.
     *
     * @param day              the day
     * @param sessionsStarted  sessions that started on it
     * @param sessionTime      time connected on it (sessions cut at midnight and at the period's ends)
     * @param postureDecisions posture decisions on it
     * @param compliant        compliant ones among them
     * @param denialsByReason  reason code → denied records of the day (a posture decision once per code), in order
     */
    public record Day(LocalDate day, int sessionsStarted, Duration sessionTime, int postureDecisions, int compliant,
                      Map<String, Long> denialsByReason) {
        /** compliant / postureDecisions, or null on a day without decisions. */
        public @Nullable Double complianceRate() {
            return postureDecisions == 0 ? null : (double) compliant / postureDecisions;
        }

        /** Session time in hours. */
        public double sessionHours() {
            return sessionTime.toMillis() / 3_600_000.0;
        }
    }

    /** The period and its days, in order. */
    public record Result(Instant since, Instant until, List<Day> days) {
        public Result {
            days = List.copyOf(days);
        }
    }

    private final RemoteWorkReport report;
    private final Map<LocalDate, Map<String, Long>> denials = new HashMap<>();

    /** @throws IllegalArgumentException when the period is empty or longer than {@link #MAX_DAYS} days */
    public DailyActivity(Instant since, Instant until) {
        this.report = new RemoteWorkReport(since, until);
        if (Duration.between(since, until).toDays() > MAX_DAYS) {
            throw new IllegalArgumentException("period " + since + " .. " + until + ": expected at most " + MAX_DAYS + " days");
        }
    }

    /** The days of {@code [since, until)} over {@code records} (every record of the trails, merged by time; closed after). */
    public static Result run(RecordStream records, Instant since, Instant until) {
        DailyActivity activity = new DailyActivity(since, until);
        try (records) {
            for (AuditRecord r = records.next(); r != null; r = records.next()) {
                activity.accept(r);
            }
        }
        return activity.finish();
    }

    /** Takes the next record of the trails, merged by time: every record, not only the period's. */
    public void accept(AuditRecord r) {
        report.accept(r);
        if (r.time().isBefore(report.since()) || !r.time().isBefore(report.until())) {
            return;
        }
        for (String reason : Denials.reasons(r)) {
            denials.computeIfAbsent(RemoteWorkReport.day(r.time()), d -> new TreeMap<>()).merge(reason, 1L, Long::sum);
        }
    }

    /** Closes the books; call once, after the last record. */
    public Result finish() {
        report.finish();
        List<Day> days = new ArrayList<>();
        LocalDate last = RemoteWorkReport.day(report.until().minusNanos(1));
        for (LocalDate d = RemoteWorkReport.day(report.since()); !d.isAfter(last); d = d.plus(1, ChronoUnit.DAYS)) {
            int sessions = 0;
            Duration time = Duration.ZERO;
            for (RemoteWorkReport.Usage u : report.perDay().getOrDefault(d, Map.of()).values()) {
                sessions += u.sessions();
                time = time.plus(u.connected());
            }
            RemoteWorkReport.Compliance c = report.compliance().get(d);
            days.add(new Day(d, sessions, time, c == null ? 0 : c.decisions(), c == null ? 0 : c.compliant(),
                    Collections.unmodifiableMap(denials.getOrDefault(d, new TreeMap<>()))));
        }
        return new Result(report.since(), report.until(), days);
    }
}
