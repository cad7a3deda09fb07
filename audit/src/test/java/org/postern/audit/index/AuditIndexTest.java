package org.postern.audit.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.audit.trail.TrailFixture.MutableClock;
import org.postern.audit.trail.AuditVerifier;

/**
 * The index against a plain scan of the same trail (the oracle below): trails written by the real
 * {@link AuditTrail}, with checkpoints and rotations, on a clock the test moves (once backwards).
 */
class AuditIndexTest {
    private static final AuditKeys KEYS = AuditKeys.generate(new SecureRandom());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] USERS = {"alice", "bob", "carol", "dave", "erin", "frank"};
    private static final String[] HOSTS = {"db1.corp", "DB2.corp", "ssh.corp", "10.0.5.9", "[2001:db8::7]", "web.corp"};
    private static final String[] DENY_REASONS = {"access.no_rule", "posture.no_lease", "access.outside_hours"};

    @TempDir
    Path tmp;
    Path trail;
    final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    final Random random = new Random(42);

    @BeforeEach
    void setUp() {
        trail = tmp.resolve("audit").resolve("trail");
    }

    AuditTrail openTrail(Path dir) throws IOException {
        AuditTrailConfig config = AuditTrailConfig.defaults("gw-test").withTickEvery(Duration.ZERO)
                .withMaxSegmentBytes(48 * 1024).withMinFreeBytes(0);
        return new AuditTrail(dir, config, KEYS, clock, p -> Long.MAX_VALUE);
    }

    /** A realistic mix: sessions with posture decisions, flows and denials, over hours of clock time. */
    void write(AuditTrail t, int sessions) {
        for (int s = 0; s < sessions; s++) {
            String session = "s-" + Long.toHexString(random.nextLong());
            String user = USERS[random.nextInt(USERS.length)];
            String device = "laptop-" + random.nextInt(9);
            step();
            t.record(event("posture.decision").with("device", device).with("user", user)
                    .with("result", random.nextInt(10) == 0 ? "non_compliant" : "compliant").with("reasons", List.of()).build());
            step();
            t.record(event("session.start").with("session", session).with("device", device).with("user", user).with("via", "tls").build());
            int flows = random.nextInt(4);
            for (int f = 0; f < flows; f++) {
                String host = HOSTS[random.nextInt(HOSTS.length)];
                String dest = host + ":" + (22 + f);
                step();
                if (random.nextInt(5) == 0) {
                    t.record(event("access.denied").with("session", session).with("device", device).with("user", user)
                            .with("dest", random.nextInt(6) == 0 ? "WEIRD.corp:https" : dest).with("reason", DENY_REASONS[random.nextInt(DENY_REASONS.length)]).build());
                    continue;
                }
                String addr = host.startsWith("[") || Character.isDigit(host.charAt(0)) ? dest : "10.1.0." + (host.length()) + ":" + (22 + f);
                t.record(event("flow.open").with("session", session).with("flow", "f" + f).with("device", device).with("user", user)
                        .with("dest", dest).with("destAddress", addr).build());
                step();
                t.record(event("flow.close").with("session", session).with("flow", "f" + f).with("device", device).with("user", user)
                        .with("dest", dest).with("destAddress", addr).with("bytesUp", 10L).with("bytesDown", 20L).build());
            }
            step();
            t.record(event("session.end").with("session", session).with("device", device).with("user", user)
                    .with("reason", random.nextInt(4) == 0 ? "idle" : "client_closed").build());
        }
    }

    AuditEvent.Builder event(String type) {
        return AuditEvent.of(type, clock.instant());
    }

    void step() {
        clock.advance(Duration.ofSeconds(1 + random.nextInt(90)));
    }

    // ------------------------------------------------------------------ the oracle: a plain scan

    record Line(long seq, String segment, String text, JsonNode node) {
    }

    List<Line> scan(Path dir) throws IOException {
        List<Path> segments;
        try (Stream<Path> s = Files.list(dir)) {
            segments = s.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl"))
                    .sorted(Comparator.comparing(Path::toString)).toList();
        }
        List<Line> out = new ArrayList<>();
        for (Path seg : segments) {
            String content = Files.readString(seg, StandardCharsets.UTF_8);
            int start = 0;
            int nl;
            while ((nl = content.indexOf('\n', start)) >= 0) {
                String text = content.substring(start, nl);
                start = nl + 1;
                JsonNode n = JSON.readTree(text);
                out.add(new Line(n.get("seq").asLong(), seg.getFileName().toString(), text, n));
            }
        }
        return out;
    }

    static List<Long> oracle(List<Line> lines, IndexQuery q) {
        return lines.stream().filter(l -> matches(l.node(), q)).map(Line::seq).toList();
    }

    static boolean matches(JsonNode n, IndexQuery q) {
        String type = n.get("type").asText();
        if (!q.includeCheckpoints() && type.equals("audit.checkpoint")) {
            return false;
        }
        if (!q.typePrefixes().isEmpty() && q.typePrefixes().stream().noneMatch(type::startsWith)) {
            return false;
        }
        Instant time = Instant.parse(n.get("time").asText());
        if (q.since() != null && time.isBefore(q.since())) {
            return false;
        }
        if (q.until() != null && !time.isBefore(q.until())) {
            return false;
        }
        if (q.user() != null && !q.user().equals(text(n, "user"))) {
            return false;
        }
        if (q.device() != null && !q.device().equals(text(n, "device"))) {
            return false;
        }
        if (q.reason() != null && !q.reason().equals(text(n, "reason"))) {
            return false;
        }
        if (q.session() != null && !q.session().equals(text(n, "session"))) {
            return false;
        }
        if (q.host() != null) {
            return destMatches(q.host(), text(n, "dest")) || destMatches(q.host(), text(n, "destAddress"));
        }
        return true;
    }

    /** As {@code postern audit search --dest}: the whole value, or its host without the port, equals the one asked (ignoring case). */
    static boolean destMatches(String want, String value) {
        if (value == null) {
            return false;
        }
        String v = value.toLowerCase(Locale.ROOT);
        String w = want.toLowerCase(Locale.ROOT);
        return v.equals(w) || host(v).equals(w) || w.startsWith("[") && !w.contains("]:") && host(v).equals(w.substring(1, w.length() - 1));
    }

    /** Written again here rather than calling the code under test: host[:port] or [v6]:port, lower-case. */
    static String host(String v) {
        if (v == null) {
            return null;
        }
        String h = v.startsWith("[") ? v.substring(1, v.indexOf(']'))
                : v.chars().filter(ch -> ch == ':').count() == 1 && v.substring(v.indexOf(':') + 1).matches("\\d{1,5}")
                && Integer.parseInt(v.substring(v.indexOf(':') + 1)) <= 65535 ? v.substring(0, v.indexOf(':')) : v;
        return h.toLowerCase(Locale.ROOT);
    }

    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || !v.isTextual() ? null : v.asText();
    }

    /** Every page of the query, {@code limit} at a time, following the cursor. */
    static List<IndexPosition> allPages(AuditIndex index, IndexQuery q, int limit) throws IOException {
        List<IndexPosition> out = new ArrayList<>();
        long cursor = 0;
        for (int guard = 0; guard < 100_000; guard++) {
            IndexPage page = index.page(q, cursor, limit);
            assertThat(page.positions()).hasSizeLessThanOrEqualTo(limit);
            out.addAll(page.positions());
            cursor = page.nextCursor(cursor);
            if (!page.hasMore()) {
                return out;
            }
            assertThat(page.positions()).hasSize(limit);
        }
        throw new AssertionError("paging did not end");
    }

    List<IndexQuery> queries(List<Line> lines) {
        Instant first = Instant.parse(lines.getFirst().node().get("time").asText());
        Instant mid = first.plus(Duration.ofHours(3));
        Instant later = first.plus(Duration.ofHours(9));
        String someSession = lines.stream().map(l -> text(l.node(), "session")).filter(s -> s != null).skip(7).findFirst().orElseThrow();
        IndexQuery all = IndexQuery.all();
        return List.of(
                all,
                all.withCheckpoints(true),
                all.withTypes("audit.checkpoint").withCheckpoints(true),
                all.withTypes("audit."),
                all.withUser("alice"),
                all.withUser("nobody"),
                all.withDevice("laptop-3"),
                all.withHost("db1.corp"),
                all.withHost("DB2.CORP:5432"),
                all.withHost("DB2.CORP:23"),
                all.withHost("db1.corp:22"),
                all.withHost("[2001:db8::7]:24"),
                all.withHost("[2001:db8::7]"),
                all.withHost("10.0.5.9:25"),
                all.withHost("10.1.0.8:23"),
                all.withHost("weird.corp:HTTPS"),
                all.withHost("weird.corp"),
                all.withTypes("flow.close").withHost("ssh.corp:22").withTime(mid, null),
                all.withHost("10.0.5.9"),
                all.withHost("2001:db8::7"),
                all.withHost("10.1.0.8"),
                all.withTypes("flow."),
                all.withTypes("flow.open", "session.end"),
                all.withTypes("access.denied").withReason("access.no_rule"),
                all.withReason("idle"),
                all.withSession(someSession),
                all.withTime(mid, later),
                all.withTime(mid, null),
                all.withTime(null, mid),
                all.withTime(mid, mid),
                all.withUser("bob").withTime(mid, later),
                all.withTypes("flow.open").withHost("ssh.corp").withTime(mid, later),
                all.withUser("carol").withDevice("laptop-1").withTypes("flow.", "access."),
                all.withHost("web.corp").withUser("dave").withTypes("access.denied"),
                all.withTime(Instant.parse("2030-01-01T00:00:00Z"), null));
    }

    void assertMatchesScan(AuditIndex index) throws IOException {
        List<Line> lines = scan(trail);
        for (IndexQuery q : queries(lines)) {
            List<Long> expected = oracle(lines, q);
            for (int limit : new int[]{1, 7, 500}) {
                List<IndexPosition> got = allPages(index, q, limit);
                assertThat(got).as("%s, pages of %d", q, limit).extracting(IndexPosition::seq).containsExactlyElementsOf(expected);
            }
            assertThat(index.count(q, 1_000_000)).as("count %s", q).isEqualTo(new IndexCount(expected.size(), false));
            if (expected.size() > 3) {
                assertThat(index.count(q, 3)).isEqualTo(new IndexCount(3, true));
                assertThat(index.count(q, 3).toString()).isEqualTo("3+");
            }
        }
        // every position reads back the very line of the trail
        java.util.Map<Long, Line> bySeq = new java.util.HashMap<>();
        lines.forEach(l -> bySeq.put(l.seq(), l));
        for (IndexPosition p : allPages(index, IndexQuery.all().withCheckpoints(true), 1000)) {
            Line l = bySeq.get(p.seq());
            assertThat(l.seq()).isEqualTo(p.seq());
            assertThat(p.segment()).isEqualTo(l.segment());
            assertThat(p.time()).isEqualTo(Instant.parse(l.node().get("time").asText()));
            assertThat(index.read(p)).isEqualTo(l.text());
        }
    }

    @Test
    void everyQueryEqualsAPlainScan_andCatchUpFollowsAppendsAcrossRotations() throws IOException {
        try (AuditTrail t = openTrail(trail); AuditIndex index = AuditIndex.open(trail)) {
            write(t, 60);
            CatchUp first = index.catchUp();
            assertThat(first.rebuilt()).isTrue();
            assertThat(first.rebuildReason()).contains("no index yet");
            assertThat(first.lastSeq()).isEqualTo(t.durableSeq());
            assertMatchesScan(index);

            CatchUp nothing = index.catchUp();
            assertThat(nothing.rebuilt()).isFalse();
            assertThat(nothing.added()).isZero();

            long before = t.durableSeq();
            clock.advance(Duration.ofMinutes(-30)); // the clock steps back: times are no longer in seq order
            write(t, 200);
            long segments = segments(trail);
            assertThat(segments).as("the appends rotated the trail").isGreaterThan(3);
            CatchUp more = index.catchUp();
            assertThat(more.rebuilt()).isFalse();
            assertThat(more.added()).isEqualTo(t.durableSeq() - before);
            assertThat(index.indexedSeq()).isEqualTo(t.durableSeq());
            assertMatchesScan(index);
        }
        assertThat(AuditVerifier.verify(trail, KEYS.publicKey(), true).ok()).isTrue();
        assertThat(Files.exists(trail.resolveSibling("trail.index").resolve(AuditIndex.DB))).isTrue();
        try (Stream<Path> s = Files.list(trail)) {
            assertThat(s.map(p -> p.getFileName().toString())).as("nothing of the index inside the trail")
                    .allMatch(n -> n.startsWith("segment-") || n.equals(AuditTrail.LOCK_FILE));
        }
        // a closed trail's shutdown checkpoint is indexed by the next catch-up
        try (AuditIndex index = AuditIndex.open(trail)) {
            CatchUp after = index.catchUp();
            assertThat(after.rebuilt()).isFalse();
            assertThat(after.added()).isEqualTo(1);
            assertMatchesScan(index);
        }
    }

    @Test
    void aTornLastLineIsNotIndexed_untilItIsWhole() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 20);
        }
        Path last = lastSegment(trail);
        long seq = scan(trail).getLast().seq() + 1;
        String whole = "{\"seq\":" + seq + ",\"time\":\"2026-02-01T00:00:00.000Z\",\"type\":\"session.start\",\"gateway\":\"gw-test\",\"user\":\"zoe\",\"prev\":\"00\"}";
        Files.writeString(last, whole.substring(0, 40), StandardOpenOption.APPEND);
        try (AuditIndex index = AuditIndex.open(trail)) {
            assertThat(index.catchUp().lastSeq()).isEqualTo(seq - 1);
            assertThat(index.count(IndexQuery.all().withUser("zoe"), 10).value()).isZero();

            Files.writeString(last, whole.substring(40) + "\n", StandardOpenOption.APPEND);
            CatchUp whole1 = index.catchUp();
            assertThat(whole1.rebuilt()).isFalse();
            assertThat(whole1.added()).isEqualTo(1);
            assertThat(index.page(IndexQuery.all().withUser("zoe"), 0, 10).positions()).extracting(IndexPosition::seq).containsExactly(seq);
        }

    }

    @Test
    void aTornTailMovedAsideByRecoveryNeedsNoRebuild() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 20);
        }
        Files.writeString(lastSegment(trail), "{\"seq\":999,\"time\":\"2026-02", StandardOpenOption.APPEND);
        try (AuditIndex index = AuditIndex.open(trail)) {
            long indexed = index.catchUp().lastSeq();
            try (AuditTrail t = openTrail(trail)) {
                write(t, 10);
            }
            CatchUp c = index.catchUp();
            assertThat(c.rebuilt()).as("%s", c.rebuildReason()).isFalse();
            assertThat(c.lastSeq()).isGreaterThan(indexed);
            assertThat(index.count(IndexQuery.all().withTypes("audit.torn_tail"), 10).value()).isEqualTo(1);
            assertMatchesScan(index);
        }
    }

    @Test
    void aRotationUnderWayIsNotSkipped() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 5);
        }
        Path current = lastSegment(trail);
        long n = Long.parseLong(current.getFileName().toString().substring(8, 14));
        long seq = scan(trail).getLast().seq();
        // The writer creates the next segment first, then writes the rotation checkpoint to the closing one.
        Path next = trail.resolve("segment-%06d.jsonl".formatted(n + 1));
        Files.createFile(next);
        try (AuditIndex index = AuditIndex.open(trail)) {
            assertThat(index.catchUp().lastSeq()).isEqualTo(seq);
            Files.writeString(current, "{\"seq\":" + (seq + 1) + ",\"time\":\"2026-03-01T00:00:00.000Z\",\"type\":\"audit.checkpoint\","
                    + "\"gateway\":\"gw-test\",\"records\":" + seq + ",\"segment\":\"" + current.getFileName() + "\",\"reason\":\"rotation\",\"prev\":\"00\"}\n",
                    StandardOpenOption.APPEND);
            assertThat(index.catchUp().lastSeq()).as("the rotation checkpoint, written after the next file was made").isEqualTo(seq + 1);
            Files.writeString(next, "{\"seq\":" + (seq + 2) + ",\"time\":\"2026-03-01T00:00:01.000Z\",\"type\":\"session.start\","
                    + "\"gateway\":\"gw-test\",\"user\":\"yves\",\"prev\":\"00\"}\n", StandardOpenOption.APPEND);
            CatchUp c = index.catchUp();
            assertThat(c.rebuilt()).isFalse();
            assertThat(c.lastSeq()).isEqualTo(seq + 2);
            assertThat(index.page(IndexQuery.all().withUser("yves"), 0, 5).positions()).extracting(IndexPosition::segment)
                    .containsExactly(next.getFileName().toString());
            assertMatchesScan(index);
        }
    }

    @Test
    void aDeletedOrCorruptIndexIsRebuilt() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 30);
        }
        Path indexDir = AuditIndex.besideTrail(trail);
        try (AuditIndex index = AuditIndex.open(trail)) {
            index.catchUp();
        }
        deleteTree(indexDir);
        try (AuditIndex index = AuditIndex.open(trail)) {
            assertThat(index.page(IndexQuery.all(), 0, 10).positions()).isEmpty(); // nothing yet, no crash
            assertThat(index.catchUp().rebuilt()).isTrue();
            assertMatchesScan(index);
        }
        Files.write(indexDir.resolve(AuditIndex.DB), "this is not a database at all, just bytes".repeat(200).getBytes(StandardCharsets.US_ASCII));
        try (AuditIndex index = AuditIndex.open(trail)) {
            CatchUp c = index.catchUp();
            assertThat(c.rebuilt()).isTrue();
            assertMatchesScan(index);
        }
        // a file cut in the middle (a disk that lost its tail)
        Path db = indexDir.resolve(AuditIndex.DB);
        byte[] bytes = Files.readAllBytes(db);
        Files.write(db, java.util.Arrays.copyOf(bytes, bytes.length / 3));
        try (AuditIndex index = AuditIndex.open(trail)) {
            CatchUp c = index.catchUp();
            if (!c.rebuilt()) {
                // SQLite may open a cut file; then a query must fail cleanly and mark it for a rebuild
                try {
                    assertMatchesScan(index);
                } catch (IOException e) {
                    assertThat(index.staleReason()).contains("cannot be read");
                    assertThat(index.catchUp().rebuilt()).isTrue();
                }
            }
            assertMatchesScan(index);
        }
    }

    @Test
    void aReplacedTrailIsRebuilt() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 30);
        }
        try (AuditIndex index = AuditIndex.open(trail)) {
            index.catchUp();
            assertMatchesScan(index);
            deleteTree(trail);
            clock.advance(Duration.ofDays(3));
            try (AuditTrail t = openTrail(trail)) {
                write(t, 45); // another trail, longer than the first
            }
            CatchUp c = index.catchUp();
            assertThat(c.rebuilt()).isTrue();
            assertThat(c.rebuildReason()).contains("first record");
            assertMatchesScan(index);
        }
    }

    @Test
    void aCutSegmentIsRebuilt() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 30);
        }
        try (AuditIndex index = AuditIndex.open(trail)) {
            index.catchUp();
            Path last = lastSegment(trail);
            List<String> lines = Files.readAllLines(last);
            Files.writeString(last, String.join("\n", lines.subList(0, lines.size() - 3)) + "\n");
            CatchUp c = index.catchUp();
            assertThat(c.rebuilt()).isTrue();
            assertThat(c.rebuildReason()).contains("last record indexed");
            assertMatchesScan(index);
        }
    }

    @Test
    void aStaleEntryIsNeverReadAsAnotherRecord_andTheIndexIsRebuilt() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 30);
        }
        try (AuditIndex index = AuditIndex.open(trail)) {
            index.catchUp();
            IndexPosition p = index.page(IndexQuery.all().withTypes("flow.open"), 0, 1).positions().getFirst();
            // Rewrite the first segment with one earlier record removed and padding after the first
            // line, so every later line moves while the first and last lines (the catch-up's checks) stay.
            Path first = trail.resolve(p.segment());
            List<String> lines = Files.readAllLines(first);
            int at = (int) (p.seq() - scan(trail).stream().filter(l -> l.segment().equals(p.segment())).findFirst().orElseThrow().seq());
            lines.remove(at - 1);
            Files.writeString(first, String.join("\n", lines) + "\n");
            assertThatThrownBy(() -> index.read(p)).isInstanceOf(StaleIndexException.class)
                    .hasMessageContaining("expected the record seq " + p.seq());
            assertThat(index.staleReason()).contains("stale index entry");
            CatchUp c = index.catchUp();
            assertThat(c.rebuilt()).isTrue();
            assertThat(c.rebuildReason()).contains("stale index entry");
            assertMatchesScan(index);
        }
    }

    @Test
    void readRefusesALineThatIsNotTheRecordNamed() throws IOException {
        try (AuditTrail t = openTrail(trail)) {
            write(t, 5);
        }
        try (AuditIndex index = AuditIndex.open(trail)) {
            index.catchUp();
            IndexPosition p = index.page(IndexQuery.all().withCheckpoints(true), 2, 1).positions().getFirst();
            assertThat(index.read(p)).startsWith("{\"seq\":3,");
            IndexPosition wrongSeq = new IndexPosition(4, p.segment(), p.offset(), p.length(), p.time());
            assertThatThrownBy(() -> index.read(wrongSeq)).isInstanceOf(StaleIndexException.class).hasMessageContaining("found the line there holds seq 3");
            IndexPosition inside = new IndexPosition(3, p.segment(), p.offset() + 1, p.length() - 1, p.time());
            assertThatThrownBy(() -> index.read(inside)).isInstanceOf(StaleIndexException.class).hasMessageContaining("no whole line");
            IndexPosition gone = new IndexPosition(3, "segment-000099.jsonl", p.offset(), p.length(), p.time());
            assertThatThrownBy(() -> index.read(gone)).isInstanceOf(StaleIndexException.class);
        }
    }

    @Test
    void readersQueryWhileTheWriterCatchesUp() throws Exception {
        try (AuditTrail t = openTrail(trail); AuditIndex index = AuditIndex.open(trail)) {
            write(t, 20);
            index.catchUp();
            AtomicLong errors = new AtomicLong();
            java.util.concurrent.atomic.AtomicReference<Throwable> firstError = new java.util.concurrent.atomic.AtomicReference<>();
            AtomicLong reads = new AtomicLong();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!stop.get() && System.nanoTime() < deadline) {
                    try {
                        for (IndexPosition p : index.page(IndexQuery.all().withUser("alice"), 0, 50).positions()) {
                            index.read(p);
                            reads.incrementAndGet();
                        }
                    } catch (IOException | RuntimeException e) {
                        firstError.compareAndSet(null, e);
                        errors.incrementAndGet();
                    }
                }
            });
            for (int round = 0; round < 5; round++) {
                write(t, 10);
                assertThat(index.catchUp().rebuilt()).isFalse();
            }
            stop.set(true);
            reader.join(Duration.ofSeconds(30));
            assertThat(reader.isAlive()).isFalse();
            assertThat(firstError.get()).isNull();
            assertThat(errors.get()).isZero();
            assertThat(reads.get()).isPositive();
            assertMatchesScan(index);
        }
    }

    @Test
    void theIndexDirectoryIsNeverTheTrailDirectory() throws IOException {
        Files.createDirectories(trail);
        assertThatThrownBy(() -> AuditIndex.open(trail, trail)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected a directory beside the trail");
        assertThat(AuditIndex.besideTrail(trail)).isEqualTo(trail.toAbsolutePath().resolveSibling("trail.index"));
    }

    @Test
    void hostsAreComparedWithoutPortAndCase() {
        assertThat(IndexQuery.normalizeHost("DB1.Corp:5432")).isEqualTo("db1.corp");
        assertThat(IndexQuery.normalizeHost("[2001:DB8::1]:22")).isEqualTo("2001:db8::1");
        assertThat(IndexQuery.normalizeHost("2001:db8::1")).isEqualTo("2001:db8::1");
        assertThat(IndexQuery.normalizeHost("10.0.0.1")).isEqualTo("10.0.0.1");
        assertThat(IndexQuery.port("DB1.Corp:5432")).isEqualTo(5432);
        assertThat(IndexQuery.port("[2001:db8::1]:22")).isEqualTo(22);
        assertThat(IndexQuery.port("2001:db8::1")).isEqualTo(-1);
        assertThat(IndexQuery.port("db1.corp")).isEqualTo(-1);
        assertThat(IndexQuery.port("db1.corp:99999")).isEqualTo(-1);
        assertThat(IndexQuery.normalizeHost("db1.corp:https")).isEqualTo("db1.corp:https");
        IndexQuery q = IndexQuery.all().withHost(" DB1.Corp:5432 ");
        assertThat(q.host()).isEqualTo("db1.corp:5432");
        assertThat(q.hostName()).isEqualTo("db1.corp");
        assertThat(q.hostPort()).isEqualTo(5432);
        assertThatThrownBy(() -> IndexQuery.all().withTypes("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> IndexQuery.all().withTime(Instant.parse("2026-02-01T00:00:00Z"), Instant.parse("2026-01-01T00:00:00Z")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected until");
    }

    static long segments(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).count();
        }
    }

    static Path lastSegment(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).max(Comparator.comparing(Path::toString)).orElseThrow();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
