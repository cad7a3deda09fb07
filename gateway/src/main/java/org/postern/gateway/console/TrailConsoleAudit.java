package org.postern.gateway.console;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditUnavailableException;
import org.postern.audit.export.ExportFormat;
import org.postern.audit.index.AuditIndex;
import org.postern.audit.index.IndexQuery;
import org.postern.audit.index.IndexedSource;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.AuditSearch;
import org.postern.audit.query.Outcome;
import org.postern.audit.query.PageCursor;
import org.postern.audit.query.RecordStream;
import org.postern.audit.query.Times;
import org.postern.audit.query.Trails;
import org.postern.audit.report.DailyActivity;
import org.postern.audit.report.DenialReport;
import org.postern.audit.text.TerminalText;
import org.postern.audit.siem.SiemForwarder;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditVerifier;
import org.postern.gateway.console.ConsoleViews.AccessRow;
import org.postern.gateway.console.ConsoleViews.Count;
import org.postern.gateway.console.ConsoleViews.DayRow;
import org.postern.gateway.console.ConsoleViews.Filter;
import org.postern.gateway.console.ConsoleViews.PostureRow;
import org.postern.gateway.console.ConsoleViews.RecordRow;
import org.postern.gateway.console.ConsoleViews.TrailState;

/**
 * The console's reads of this gateway's trail, through the index beside it ({@link AuditIndex},
 * {@link IndexedSource}) with the filter {@code postern audit search} applies ({@link AuditFilter}),
 * and its verification with {@link AuditVerifier}, as {@code postern audit verify} runs it.
 */
public final class TrailConsoleAudit implements ConsoleAudit, AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TrailConsoleAudit.class);
    /** Counting stops here, so a count over a long trail stays fast ("100000+"). */
    static final long COUNT_CAP = 100_000;
    /** How long a request waits for an index build under way before it is refused with "being built". */
    static final Duration READY_WAIT = Duration.ofSeconds(3);

    private final String gateway;
    private final AuditTrail trail;
    private final Path publicKey;
    private final @Nullable Supplier<SiemForwarder.Status> siem;
    private final Clock clock;
    private final AuditIndex index;
    private final IndexedSource source;
    private volatile @Nullable VerifyResult lastVerification;
    private volatile Thread builder;
    private volatile boolean ready;
    private volatile @Nullable String indexProblem;
    private volatile @Nullable Instant verifiedAt;

    public TrailConsoleAudit(String gateway, AuditTrail trail, Path publicKey, @Nullable Supplier<SiemForwarder.Status> siem,
                             Clock clock) throws IOException {
        this.gateway = Objects.requireNonNull(gateway, "gateway");
        this.trail = Objects.requireNonNull(trail, "trail");
        this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
        this.siem = siem;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.index = AuditIndex.open(trail.directory());
        this.source = new IndexedSource(index);
        this.builder = Thread.ofVirtual().name("postern-console-index").start(this::build);
    }

    /**
     * Builds the index (or catches it up) in the background at start: the first build of a long
     * trail takes minutes, and no request waits for it; until it is done, searches say so.
     */
    private void build() {
        try {
            long t0 = System.nanoTime();
            var done = index.catchUp();
            log.info("audit search index of {} ready: {} records ({} ms{})", trail.directory(), done.lastSeq(),
                    (System.nanoTime() - t0) / 1_000_000, done.rebuilt() ? ", built: " + done.rebuildReason() : "");
            indexProblem = null;
            ready = true;
        } catch (IOException | RuntimeException e) {
            indexProblem = e.getMessage();
            log.warn("audit search index of {} cannot be built: {}", trail.directory(), e.toString());
        }
    }

    /** The index, once built; before, a search is refused with why (503), never answered from a partial index. */
    private IndexedSource indexed() {
        if (!ready && builder.isAlive()) {
            try {
                builder.join(READY_WAIT); // a short trail is indexed in well under this: no refusal right after a start
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!ready) {
            String problem = indexProblem;
            if (problem != null && !builder.isAlive()) {
                builder = Thread.ofVirtual().name("postern-console-index").start(this::build); // try again
            }
            throw new AuditUnavailableException(problem == null
                    ? "The search index of the audit trail is being built (it starts with the gateway); try again in a minute."
                    : "The search index of the audit trail cannot be built: " + problem, null);
        }
        return source;
    }

    @Override
    public @Nullable String unwritable() {
        return trail.available() ? null : Objects.requireNonNullElse(trail.unavailableReason(), "unavailable");
    }

    /** The filter {@code postern audit search} would apply for the same options. */
    AuditFilter filter(Filter f) {
        Instant since = Times.since("since", blank(f.since()), clock);
        Instant until = Times.until("until", blank(f.until()), clock);
        if (since != null && until != null && !since.isBefore(until)) {
            throw new IllegalArgumentException("since " + since + " is not before until " + until + ": expected a non-empty period");
        }
        Outcome outcome = f.outcome().isEmpty() ? null : Outcome.parse("outcome", f.outcome());
        List<String> types = f.type().isBlank() ? List.of()
                : Arrays.stream(f.type().split("[,\\s]+")).filter(t -> !t.isEmpty()).toList();
        return new AuditFilter(since, until, blank(f.device()), blank(f.user()), types, outcome, blank(f.host()),
                blank(f.reason()), false);
    }

    private static @Nullable String blank(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    @Override
    public Page<RecordRow> search(Filter typed, @Nullable String after, int size) throws IOException {
        AuditFilter f = filter(typed);
        AuditSearch.Page p = new AuditSearch(indexed()).page(f, cursor(after), size);
        List<RecordRow> rows = p.records().stream().map(TrailConsoleAudit::row).toList();
        String counted = f.outcome() == null ? index.count(IndexedSource.query(f), COUNT_CAP).toString()
                : "at most " + index.count(IndexedSource.query(f), COUNT_CAP);
        return new Page<>(rows, p.next() == null ? null : p.next().token(), counted);
    }

    static @Nullable PageCursor cursor(@Nullable String token) {
        if (token == null || token.isBlank()) {
            return null;
        }
        return PageCursor.parse(token); // IllegalArgumentException names what was expected
    }

    static RecordRow row(AuditRecord r) {
        return new RecordRow(r.time().toString(), text(r.text("gateway")), r.number("seq"), text(r.type()), text(r.text("user")),
                text(r.text("device")), dest(r), text(r.text("reason")), text(r.text("session")),
                TerminalText.escapeInJson(r.json().toPrettyString()));
    }

    static String dest(AuditRecord r) {
        String d = r.text("dest");
        return d != null ? text(d) : text(r.text("destAddress"));
    }

    /**
     * A value from the trail as the console shows it: bidi overrides, zero-width and other invisible
     * characters a peer chose are shown as <code>&#92;uXXXX</code>, as {@code postern audit} prints them
     * ({@link TerminalText}), so that "evil", U+202E, "gnp.exe" is not read as "evilexe.png". (HTML
     * escaping is the templates'.)
     */
    static String text(@Nullable String s) {
        return s == null ? "" : TerminalText.escape(s);
    }

    @Override
    public Page<AccessRow> access(Filter typed, @Nullable String after, int size) throws IOException {
        AuditFilter asked = filter(typed);
        AuditFilter f = new AuditFilter(asked.since(), asked.until(), asked.device(), asked.user(), List.of("flow.open"),
                asked.outcome(), asked.dest(), asked.reason(), false);
        AuditSearch.Page p = new AuditSearch(indexed()).page(f, cursor(after), size);
        List<AccessRow> rows = new ArrayList<>(p.records().size());
        for (AuditRecord r : p.records()) {
            rows.add(accessRow(r));
        }
        return new Page<>(rows, p.next() == null ? null : p.next().token(), ""); // the access page shows no count
    }

    /**
     * A flow.open as the access report shows it. Its posture and policy versions are on the record
     * (issue 15); a record written before then takes them from its session's session.start, found
     * through the index, else says "unknown".
     */
    private AccessRow accessRow(AuditRecord r) {
        String posture = r.text("posture");
        String posturePolicy = r.text("posturePolicy");
        String accessPolicy = r.text("accessPolicy");
        String session = r.text("session");
        if ((posture == null || posturePolicy == null || accessPolicy == null) && session != null) {
            AuditRecord start = firstOf(IndexQuery.all().withSession(session).withTypes("session.start"));
            if (start != null) {
                posture = posture != null ? posture : start.text("posture");
                posturePolicy = posturePolicy != null ? posturePolicy : start.text("posturePolicy");
                accessPolicy = accessPolicy != null ? accessPolicy : start.text("accessPolicy");
            }
        }
        String via = r.text("via"); // as postern audit access shows it (AccessReport)
        return new AccessRow(r.time().toString(), text(r.text("user")), text(r.text("device")), dest(r),
                via == null || via.isEmpty() || via.equals("tls") ? "connect" : text(via), text(session), orUnknown(posture),
                orUnknown(posturePolicy), orUnknown(accessPolicy));
    }

    private static String orUnknown(@Nullable String s) {
        return s == null ? "unknown" : text(s);
    }

    private @Nullable AuditRecord firstOf(IndexQuery q) {
        try (RecordStream s = indexed().open(q, 0)) {
            return s.next();
        }
    }

    @Override
    public List<List<Count>> denials(Filter typed) throws IOException {
        AuditFilter asked = filter(typed);
        AuditFilter f = new AuditFilter(asked.since(), asked.until(), asked.device(), asked.user(), asked.typePrefixes(),
                Outcome.DENIED, asked.dest(), asked.reason(), false);
        DenialReport.Result d = DenialReport.run(indexed().open(f, null), f);
        return List.of(counts(d.byReason()), counts(d.byDevice()));
    }

    static List<Count> counts(Map<String, Long> m) {
        return m.entrySet().stream().map(e -> new Count(text(e.getKey()), e.getValue()))
                .sorted(Comparator.comparingLong(Count::count).reversed().thenComparing(Count::key)).toList();
    }

    /** The dashboard's indicators of [from, to): one pass over the period (and the day before, for open sessions). */
    private record Activity(Instant from, Instant to, List<DayRow> days, List<Count> reasons) {
    }

    private volatile @Nullable Activity activity;

    @Override
    public List<DayRow> days(Instant from, Instant to) throws IOException {
        return activity(from, to).days();
    }

    @Override
    public List<Count> denialReasons(Instant from, Instant to) throws IOException {
        return activity(from, to).reasons();
    }

    /** Computed at most once a minute: the dashboard is looked at often, the trail is long. */
    private Activity activity(Instant from, Instant to) {
        Instant minute = to.truncatedTo(ChronoUnit.MINUTES);
        Activity a = activity;
        if (a != null && a.from().equals(from) && a.to().truncatedTo(ChronoUnit.MINUTES).equals(minute)) {
            return a;
        }
        DailyActivity.Result result = DailyActivity.run(
                indexed().open(IndexQuery.all().withTime(from.minus(Duration.ofDays(1)), to), 0), from, to);
        List<DayRow> days = new ArrayList<>();
        Map<String, Long> reasons = new HashMap<>();
        for (DailyActivity.Day d : result.days()) {
            long denials = d.denialsByReason().values().stream().mapToLong(Long::longValue).sum();
            d.denialsByReason().forEach((k, v) -> reasons.merge(k, v, Long::sum));
            days.add(new DayRow(d.day().toString(), d.sessionsStarted(), d.sessionHours(), d.postureDecisions(), d.compliant(),
                    denials));
        }
        a = new Activity(from, to, days, counts(reasons));
        activity = a;
        return a;
    }

    @Override
    public void check(Filter typed) {
        filter(typed);
    }

    @Override
    public void export(Filter typed, String format, OutputStream out) throws IOException {
        AuditFilter f = filter(typed);
        ExportFormat fmt = ExportFormat.parse("format", format);
        // evidence leaves the building: read the trail itself, not its index, so nothing can be missing
        try (RecordStream records = Trails.open(List.of(trail.directory()), List.of(), w -> { }).open(f, null)) {
            fmt.write(records, f, out);
        }
    }

    @Override
    public List<String> formats() {
        return ExportFormat.names();
    }

    @Override
    public @Nullable PostureRow lastPosture(String device) throws IOException {
        IndexQuery q = IndexQuery.all().withDevice(device).withTypes("posture.decision");
        AuditRecord last = last(q);
        if (last == null) {
            return null;
        }
        List<String> reasons = new ArrayList<>();
        var n = last.json().has("checks") ? last.json().get("checks") : last.json().get("reasons");
        if (n != null && n.isArray()) {
            n.forEach(x -> reasons.add(x.isValueNode() ? x.asText() : x.toString()));
        }
        String result = last.text("result");
        return new PostureRow(last.time(), result == null ? text(last.text("decision")) : result,
                last.text("policyVersion") != null ? last.text("policyVersion") : last.text("policy"), reasons,
                last.text("evidenceSha256") != null ? last.text("evidenceSha256") : last.text("evidence"));
    }

    /**
     * The last record {@code q} selects: the index answers in trail order, so the search looks back
     * over widening windows (a day, a month, a year, everything) and keeps the last it sees.
     */
    private @Nullable AuditRecord last(IndexQuery q) throws IOException {
        Instant now = clock.instant();
        for (Duration back : List.of(Duration.ofDays(1), Duration.ofDays(31), Duration.ofDays(366))) {
            AuditRecord r = lastOf(q.withTime(now.minus(back), null));
            if (r != null) {
                return r;
            }
        }
        return lastOf(q);
    }

    private @Nullable AuditRecord lastOf(IndexQuery q) {
        AuditRecord last = null;
        try (RecordStream s = indexed().open(q, 0)) {
            for (AuditRecord r = s.next(); r != null; r = s.next()) {
                last = r;
            }
        }
        return last;
    }

    @Override
    public TrailState state() {
        Instant lastCheckpoint = null;
        String indexState;
        if (ready) {
            try {
                AuditRecord cp = last(IndexQuery.all().withTypes("audit.checkpoint").withCheckpoints(true));
                lastCheckpoint = cp == null ? null : cp.time();
                indexState = "ready, " + index.indexedSeq() + " records indexed";
            } catch (IOException | RuntimeException e) {
                indexState = "unavailable: " + e.getMessage();
            }
        } else {
            String problem = indexProblem;
            indexState = problem == null ? "being built" : "cannot be built: " + problem;
        }
        VerifyResult v = lastVerification;
        String verification = v == null ? "not run since the gateway started"
                : v.ok() ? "intact (" + v.records() + " records)" : "BROKEN: " + v.firstBreak();
        return new TrailState(trail.directory().toString(), trail.durableSeq(), lastCheckpoint, verification, verifiedAt,
                trail.available(), trail.unavailableReason(), siemText(), indexState);
    }

    private @Nullable String siemText() {
        if (siem == null) {
            return "not configured (audit.siem)";
        }
        SiemForwarder.Status s = siem.get();
        long lag = Math.max(0, s.durable() - s.delivered());
        return "delivered up to record " + s.delivered() + " of " + s.durable() + " (" + lag + " behind)"
                + (s.lastError() == null ? "" : "; last error at " + ConsoleViews.time(s.lastErrorAt()) + ": " + s.lastError());
    }

    @Override
    public VerifyResult verify() throws IOException {
        PublicKey key = AuditKeys.readPublicKey(publicKey);
        AuditVerifier.Result r = AuditVerifier.verify(trail.directory(), key, new AuditVerifier.Options(false, true, null));
        VerifyResult v = new VerifyResult(trail.directory().toString(), r.ok(), r.records(), r.segments(), r.checkpoints(),
                r.problem() == null ? null : r.problem().toString(), r.findings().stream().map(Object::toString).toList());
        lastVerification = v;
        verifiedAt = clock.instant();
        return v;
    }

    @Override
    public void close() {
        builder.interrupt();
        try {
            builder.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        index.close();
    }
}
