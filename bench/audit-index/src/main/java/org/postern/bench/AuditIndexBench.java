package org.postern.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import org.postern.audit.index.AuditIndex;
import org.postern.audit.index.CatchUp;
import org.postern.audit.index.IndexCount;
import org.postern.audit.index.IndexPage;
import org.postern.audit.index.IndexPosition;
import org.postern.audit.index.IndexQuery;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;

/**
 * Not a test: the audit search index over a synthetic trail of N records (bench/audit-index/run.sh).
 *
 * <ol>
 *   <li>{@code gen}: writes N records in the trail's format (docs/audit.md: seq, time, type, gateway,
 *       fields, prev = SHA-256 of the previous line), daily segments closed by signed rotation
 *       checkpoints, an hourly interval checkpoint and a final shutdown one, signed with a fresh
 *       audit key (written as audit.key/audit.pub beside the trail); then {@link AuditVerifier} checks it strictly.</li>
 *   <li>{@code run}: builds the index (time, size), times a catch-up with nothing new, then ~200
 *       queries of each kind (first page of 50, each line read back from the trail, and a count capped
 *       at 100,000), and the same filters by a plain sequential scan of the trail.</li>
 * </ol>
 * Usage: AuditIndexBench gen TRAIL N SEED | run TRAIL INDEX QUERIES SCAN_RUNS SEED
 */
public final class AuditIndexBench {
    static final int USERS = 2_000;
    static final int DEVICES = 3_000;
    static final int HOSTS = 500;
    static final String GATEWAY = "gw-bench";
    static final Instant START = Instant.parse("2025-12-01T00:00:00Z");
    static final Duration SPAN = Duration.ofDays(365);
    static final String[] DENY_REASONS = {"access.no_rule", "access.outside_hours", "posture.no_lease", "device.not_active",
            "connect.failed", "connect.unresolved", "limits.flows_per_device", "charter.not_accepted"};
    static final String[] END_REASONS = {"client_closed", "client_closed", "client_closed", "idle", "lease_ended", "non_compliant",
            "killed", "gateway_shutdown"};
    static final int[] PORTS = {22, 443, 5432, 3389, 8443};
    static final DateTimeFormatter TIME = new DateTimeFormatterBuilder().appendInstant(3).toFormatter();
    static final HexFormat HEX = HexFormat.of();

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "gen" -> generate(Path.of(args[1]), Long.parseLong(args[2]), Long.parseLong(args[3]));
            case "run" -> run(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]), Long.parseLong(args[5]));
            default -> throw new IllegalArgumentException("expected gen or run, found " + args[0]);
        }
    }

    static String host(int h) {
        return "srv-" + h + ".admin.corp";
    }

    static String user(int u) {
        return "user" + u;
    }

    static String device(int d) {
        return "laptop-" + d;
    }

    // ------------------------------------------------------------------ generator

    /** The writer: the trail's format, its chain and signed checkpoints, without fsync per batch (a generator, not a gateway). */
    static final class Writer implements AutoCloseable {
        final Path dir;
        final AuditKeys keys;
        final String keyId;
        final MessageDigest sha;
        final Signature signer;
        final StringBuilder line = new StringBuilder(1024);
        OutputStream out;
        long segment = 1;
        Instant segmentStarted;
        Instant lastCheckpoint;
        long seq;
        long records;
        String prev = "0".repeat(64);
        Instant now = START;

        Writer(Path dir, AuditKeys keys) throws IOException, GeneralSecurityException {
            this.dir = dir;
            this.keys = keys;
            this.keyId = keys.keyId();
            this.sha = MessageDigest.getInstance("SHA-256");
            this.signer = Signature.getInstance("SHA256withECDSA");
            signer.initSign(keys.privateKey());
            Files.createDirectories(dir);
            out = open(segment);
            lastCheckpoint = START;
        }

        OutputStream open(long n) throws IOException {
            return new BufferedOutputStream(Files.newOutputStream(dir.resolve("segment-%06d.jsonl".formatted(n)),
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), 1 << 20);
        }

        /** Moves time on, writing the checkpoints and rotations the real writer would have written meanwhile. */
        void at(Instant t) throws IOException, GeneralSecurityException {
            while (!lastCheckpoint.plus(Duration.ofHours(1)).isAfter(t)) {
                now = lastCheckpoint.plus(Duration.ofHours(1));
                checkpoint("interval");
            }
            now = t;
            if (segmentStarted != null && !t.isBefore(segmentStarted.plus(Duration.ofDays(1)))) {
                checkpoint("rotation");
                out.close();
                segment++;
                out = open(segment);
                segmentStarted = null;
            }
        }

        void event(String type, String body) throws IOException {
            append(type, TIME.format(now), body);
            records++;
        }

        void checkpoint(String reason) throws IOException, GeneralSecurityException {
            String time = TIME.format(now);
            long next = seq + 1;
            signer.update(("postern-audit-checkpoint/1|" + GATEWAY + "|" + next + "|" + time + "|" + seq + "|" + prev).getBytes(StandardCharsets.UTF_8));
            String sig = Base64.getEncoder().encodeToString(signer.sign());
            append("audit.checkpoint", time, "\"records\":" + seq + ",\"head\":\"" + prev + "\",\"segment\":\"segment-%06d.jsonl".formatted(segment)
                    + "\",\"reason\":\"" + reason + "\",\"keyId\":\"" + keyId + "\",\"sig\":\"" + sig + "\"");
            lastCheckpoint = now;
        }

        private void append(String type, String time, String body) throws IOException {
            seq++;
            line.setLength(0);
            line.append("{\"seq\":").append(seq).append(",\"time\":\"").append(time).append("\",\"type\":\"").append(type)
                    .append("\",\"gateway\":\"").append(GATEWAY).append('"');
            if (!body.isEmpty()) {
                line.append(',').append(body);
            }
            line.append(",\"prev\":\"").append(prev).append("\"}");
            byte[] b = line.toString().getBytes(StandardCharsets.UTF_8);
            prev = HEX.formatHex(sha.digest(b));
            out.write(b);
            out.write('\n');
            if (segmentStarted == null) {
                segmentStarted = Instant.parse(time);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                checkpoint("shutdown");
            } catch (GeneralSecurityException e) {
                throw new IOException(e);
            }
            out.close();
        }
    }

    /** A live session: its remaining events are emitted one at a time, interleaved with the other sessions'. */
    static final class Session {
        final String id;
        final int user;
        final int device;
        final String source;
        int step;
        int flowsLeft;
        int flow;
        boolean flowOpen;
        int openHost;
        int openPort;
        final boolean denied;

        Session(Random r, long n) {
            id = Long.toHexString(r.nextLong() | Long.MIN_VALUE) + Long.toHexString(n);
            device = r.nextInt(DEVICES);
            user = device % USERS;
            source = "203.0." + r.nextInt(256) + "." + r.nextInt(256) + ":" + (1024 + r.nextInt(60000));
            flowsLeft = 1 + r.nextInt(6);
            denied = r.nextInt(20) == 0;
        }

        String who() {
            return "\"session\":\"" + id + "\",\"device\":\"" + device(device) + "\",\"user\":\"" + user(user) + "\",\"source\":\"" + source + "\"";
        }
    }

    static int pickHost(Random r) {
        double x = r.nextDouble();
        return (int) (HOSTS * x * x); // a few hosts take most flows, as admin networks do
    }

    static void generate(Path trail, long n, long seed) throws Exception {
        long t0 = System.nanoTime();
        Random r = new Random(seed);
        AuditKeys keys = AuditKeys.generate(new SecureRandom());
        Files.createDirectories(trail.getParent());
        keys.exportPublicKey(trail.getParent().resolve("audit.pub"));
        long meanGapMs = SPAN.toMillis() / n;
        List<Session> live = new ArrayList<>();
        long made = 0;
        long t = START.toEpochMilli();
        try (Writer w = new Writer(trail, keys)) {
            while (w.records < n) {
                t += 1 + (long) (-Math.log(1 - r.nextDouble()) * meanGapMs);
                w.at(Instant.ofEpochMilli(t));
                if (live.size() < 40 || r.nextInt(live.size() + 1) == 0 && live.size() < 120) {
                    Session s = new Session(r, made++);
                    live.add(s);
                    w.event("posture.decision", "\"device\":\"" + device(s.device) + "\",\"user\":\"" + user(s.user) + "\",\"source\":\"" + s.source
                            + "\",\"result\":\"" + (s.denied ? "non_compliant" : "compliant") + "\",\"reasons\":"
                            + (s.denied ? "[\"patch.stale\"]" : "[]") + ",\"policyVersion\":\"7\",\"evidenceSha256\":\""
                            + HEX.formatHex(longBytes(r.nextLong())) + HEX.formatHex(longBytes(r.nextLong())) + "\"");
                    continue;
                }
                int i = r.nextInt(live.size());
                Session s = live.get(i);
                if (s.step == 0) {
                    s.step = 1;
                    if (s.denied) {
                        w.event("access.denied", s.who() + ",\"dest\":\"" + host(pickHost(r)) + ":22\",\"reason\":\"posture.no_lease\",\"detail\":\"no compliant posture lease\"");
                        live.remove(i);
                    } else {
                        w.event("session.start", s.who() + ",\"via\":\"tls\",\"leaseUntil\":\"" + TIME.format(Instant.ofEpochMilli(t + 600_000)) + "\"");
                    }
                    continue;
                }
                if (s.flowOpen) {
                    s.flowOpen = false;
                    w.event("flow.close", s.who() + ",\"flow\":\"" + s.id + "-" + s.flow + "\",\"dest\":\"" + host(s.openHost) + ":" + s.openPort
                            + "\",\"destAddress\":\"10.20." + (s.openHost / 250) + "." + (s.openHost % 250) + ":" + s.openPort
                            + "\",\"bytesUp\":" + r.nextInt(1 << 20) + ",\"bytesDown\":" + r.nextInt(1 << 24) + ",\"durationMs\":" + r.nextInt(3_600_000)
                            + ",\"how\":\"client_closed\"");
                    continue;
                }
                if (s.flowsLeft > 0) {
                    s.flowsLeft--;
                    int h = pickHost(r);
                    int port = PORTS[r.nextInt(PORTS.length)];
                    if (r.nextInt(12) == 0) {
                        w.event("access.denied", s.who() + ",\"dest\":\"" + host(h) + ":" + port + "\",\"reason\":\""
                                + DENY_REASONS[r.nextInt(DENY_REASONS.length)] + "\",\"detail\":\"refused by the access policy\"");
                        continue;
                    }
                    s.flow++;
                    s.flowOpen = true;
                    s.openHost = h;
                    s.openPort = port;
                    w.event("flow.open", s.who() + ",\"flow\":\"" + s.id + "-" + s.flow + "\",\"dest\":\"" + host(h) + ":" + port
                            + "\",\"destAddress\":\"10.20." + (h / 250) + "." + (h % 250) + ":" + port + "\",\"rule\":\"admins-" + (h % 40)
                            + "\",\"leaseUntil\":\"" + TIME.format(Instant.ofEpochMilli(t + 600_000)) + "\"");
                    continue;
                }
                w.event("session.end", s.who() + ",\"via\":\"tls\",\"reason\":\"" + END_REASONS[r.nextInt(END_REASONS.length)]
                        + "\",\"flows\":" + s.flow + ",\"bytesUp\":" + r.nextInt(1 << 22) + ",\"bytesDown\":" + r.nextInt(1 << 28)
                        + ",\"durationMs\":" + r.nextInt(8 * 3_600_000));
                live.remove(i);
            }
            System.out.printf(Locale.ROOT, "gen records=%d lines=%d segments=%d bytes=%d seconds=%.1f%n", w.records, w.seq, w.segment,
                    dirSize(trail), (System.nanoTime() - t0) / 1e9);
        }
        long v0 = System.nanoTime();
        var result = AuditVerifier.verify(trail, keys.publicKey(), true);
        System.out.printf(Locale.ROOT, "verify ok=%s records=%d segments=%d checkpoints=%d seconds=%.1f%s%n", result.ok(), result.records(),
                result.segments(), result.checkpoints(), (System.nanoTime() - v0) / 1e9,
                result.ok() ? "" : " problem=" + result.problem());
    }

    static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    // ------------------------------------------------------------------ the measurements

    record Kind(String name, IntFunction<IndexQuery> make) {
    }

    static void run(Path trail, Path indexDir, int queries, int scanRuns, long seed) throws Exception {
        long trailBytes = dirSize(trail);
        long t0 = System.nanoTime();
        try (AuditIndex index = AuditIndex.open(trail, indexDir)) {
            CatchUp built = index.catchUp();
            double buildS = (System.nanoTime() - t0) / 1e9;
            long indexBytes = dirSize(indexDir);
            System.out.printf(Locale.ROOT, "index.build records=%d seconds=%.1f records_per_second=%.0f index_bytes=%d trail_bytes=%d ratio=%.2f bytes_per_record=%.0f%n",
                    built.added(), buildS, built.added() / buildS, indexBytes, trailBytes, (double) indexBytes / trailBytes, (double) indexBytes / built.added());
            long[] noop = new long[20];
            for (int i = 0; i < noop.length; i++) {
                long s = System.nanoTime();
                CatchUp c = index.catchUp();
                noop[i] = System.nanoTime() - s;
                if (c.added() != 0 || c.rebuilt()) {
                    throw new IllegalStateException("a catch-up with nothing new did something: " + c);
                }
            }
            Arrays.sort(noop);
            System.out.printf(Locale.ROOT, "index.catchup_nothing_new p50_ms=%.2f max_ms=%.2f%n", noop[noop.length / 2] / 1e6, noop[noop.length - 1] / 1e6);

            Random r = new Random(seed);
            List<Kind> kinds = kinds(r);
            // warm-up: JIT and SQLite's page cache of the schema, not of the answers (other seeds)
            Random warm = new Random(seed + 1);
            for (Kind k : kinds(warm)) {
                for (int i = 0; i < 20; i++) {
                    firstPage(index, k.make().apply(i));
                }
            }
            for (Kind k : kinds) {
                long[] lat = new long[queries];
                long matched = 0;
                int capped = 0;
                for (int i = 0; i < queries; i++) {
                    IndexQuery q = k.make().apply(i);
                    long s = System.nanoTime();
                    IndexCount c = firstPage(index, q);
                    lat[i] = System.nanoTime() - s;
                    matched += c.value();
                    capped += c.capped() ? 1 : 0;
                }
                Arrays.sort(lat);
                System.out.printf(Locale.ROOT, "query.%s n=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_matches=%.0f capped=%d%n", k.name(), queries,
                        lat[queries / 2] / 1e6, lat[(int) Math.ceil(queries * 0.99) - 1] / 1e6, lat[queries - 1] / 1e6, (double) matched / queries, capped);
            }
            for (Kind k : kinds) {
                long[] lat = new long[scanRuns];
                for (int i = 0; i < scanRuns; i++) {
                    IndexQuery q = k.make().apply(i);
                    long s = System.nanoTime();
                    long[] scan = scan(trail, q);
                    lat[i] = System.nanoTime() - s;
                    IndexCount c = index.count(q, Long.MAX_VALUE - 1);
                    if (scan[0] != c.value()) {
                        throw new IllegalStateException("scan and index disagree on " + q + ": " + scan[0] + " vs " + c);
                    }
                }
                Arrays.sort(lat);
                System.out.printf(Locale.ROOT, "scan.%s runs=%d median_ms=%.0f max_ms=%.0f (count equal to the index's)%n", k.name(), scanRuns,
                        lat[scanRuns / 2] / 1e6, lat[scanRuns - 1] / 1e6);
            }
        }
    }

    /** What the console does for a search: the first page of 50, each line read from the trail, and the count. */
    static IndexCount firstPage(AuditIndex index, IndexQuery q) throws IOException {
        IndexPage page = index.page(q, 0, 50);
        for (IndexPosition p : page.positions()) {
            index.read(p);
        }
        return index.count(q, 100_000);
    }

    static List<Kind> kinds(Random r) {
        List<Instant> months = new ArrayList<>();
        for (int m = 0; m < 12; m++) {
            months.add(START.atZone(ZoneOffset.UTC).plusMonths(m).toInstant());
        }
        IndexQuery all = IndexQuery.all();
        int variety = 1 << 16;
        int[] users = r.ints(variety, 0, USERS).toArray();
        int[] devices = r.ints(variety, 0, DEVICES).toArray();
        int[] hosts = r.ints(variety, 0, HOSTS).toArray();
        int[] month = r.ints(variety, 0, 12).toArray();
        int[] reasons = r.ints(variety, 0, DENY_REASONS.length).toArray();
        IntFunction<Instant> from = i -> months.get(month[i % variety]);
        IntFunction<Instant> to = i -> months.get(month[i % variety]).atZone(ZoneOffset.UTC).plusMonths(1).toInstant();
        return List.of(
                new Kind("user_month", i -> all.withUser(user(users[i % variety])).withTime(from.apply(i), to.apply(i))),
                new Kind("device", i -> all.withDevice(device(devices[i % variety]))),
                new Kind("host_month", i -> all.withHost(host(hosts[i % variety])).withTime(from.apply(i), to.apply(i))),
                new Kind("type_reason", i -> all.withTypes("access.denied").withReason(DENY_REASONS[reasons[i % variety]])),
                new Kind("access_report", i -> all.withTypes("flow.open").withHost(host(hosts[i % variety])).withTime(from.apply(i), to.apply(i))));
    }

    // ------------------------------------------------------------------ the plain scan

    private static final JsonFactory JSON = new JsonFactory();

    /**
     * Reads every segment in order, every line parsed (streaming, only the fields filtered on), and
     * keeps the first 50 matches and the count: what a search without index costs.
     */
    static long[] scan(Path trail, IndexQuery q) throws IOException {
        List<Path> segments;
        try (Stream<Path> s = Files.list(trail)) {
            segments = s.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList();
        }
        long count = 0;
        List<String> first = new ArrayList<>();
        byte[] buf = new byte[8 << 20];
        for (Path seg : segments) {
            try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ)) {
                int have = 0;
                while (true) {
                    int r = ch.read(ByteBuffer.wrap(buf, have, buf.length - have));
                    if (r <= 0) {
                        break;
                    }
                    have += r;
                    int start = 0;
                    for (int i = 0; i < have; i++) {
                        if (buf[i] == '\n') {
                            if (matches(buf, start, i - start, q)) {
                                count++;
                                if (first.size() < 50) {
                                    first.add(new String(buf, start, i - start, StandardCharsets.UTF_8));
                                }
                            }
                            start = i + 1;
                        }
                    }
                    System.arraycopy(buf, start, buf, 0, have - start);
                    have -= start;
                }
            }
        }
        return new long[]{count, first.size()};
    }

    static boolean matches(byte[] b, int off, int len, IndexQuery q) throws IOException {
        String type = null, user = null, device = null, dest = null, addr = null, reason = null, time = null;
        try (JsonParser p = JSON.createParser(b, off, len)) {
            p.nextToken();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (v == JsonToken.START_ARRAY || v == JsonToken.START_OBJECT) {
                    p.skipChildren();
                    continue;
                }
                switch (name) {
                    case "type" -> type = p.getText();
                    case "time" -> time = p.getText();
                    case "user" -> user = p.getText();
                    case "device" -> device = p.getText();
                    case "dest" -> dest = p.getText();
                    case "destAddress" -> addr = p.getText();
                    case "reason" -> reason = p.getText();
                    default -> {
                    }
                }
            }
        }
        if (type == null || type.equals("audit.checkpoint")) {
            return false;
        }
        final String ty = type;
        if (!q.typePrefixes().isEmpty() && q.typePrefixes().stream().noneMatch(ty::startsWith)) {
            return false;
        }
        if (q.user() != null && !q.user().equals(user) || q.device() != null && !q.device().equals(device)
                || q.reason() != null && !q.reason().equals(reason)) {
            return false;
        }
        if (q.host() != null && !(dest != null && q.hostName().equals(IndexQuery.normalizeHost(dest))
                || addr != null && q.hostName().equals(IndexQuery.normalizeHost(addr)))) { // the bench asks for hosts without a port
            return false;
        }
        if (q.since() != null || q.until() != null) {
            Instant t = Instant.parse(time);
            return (q.since() == null || !t.isBefore(q.since())) && (q.until() == null || t.isBefore(q.until()));
        }
        return true;
    }

    static long dirSize(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
