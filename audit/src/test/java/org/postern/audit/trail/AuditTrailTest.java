package org.postern.audit.trail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditUnavailableException;

class AuditTrailTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TrailFixture fx = new TrailFixture();
    @TempDir
    Path dir;

    @Test
    void record_thenClose_trailVerifiesWithCountsAndShutdownCheckpoint() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            for (int i = 0; i < 100; i++) {
                assertThat(trail.append(fx.event(i))).isEqualTo(i + 1);
            }
        }
        var result = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(result.problem()).isNull();
        assertThat(result.records()).isEqualTo(101);
        assertThat(result.segments()).isEqualTo(1);
        assertThat(result.checkpoints()).isEqualTo(1);
        assertThat(result.unsealed()).isZero();
        assertThat(result.firstTime()).isEqualTo(fx.clock.instant());
        List<String> lines = TrailFixture.lines(dir.resolve("segment-000001.jsonl"));
        assertThat(lines.getFirst()).startsWith("{\"seq\":1,\"time\":\"2026-11-30T03:00:00.000Z\",\"type\":\"session.start\",\"gateway\":\"gw-test\",\"session\":\"s-0\"")
                .endsWith(",\"prev\":\"" + "0".repeat(64) + "\"}");
        JsonNode last = JSON.readTree(lines.getLast());
        assertThat(last.path("type").asText()).isEqualTo("audit.checkpoint");
        assertThat(last.path("reason").asText()).isEqualTo("shutdown");
        assertThat(last.path("records").asLong()).isEqualTo(100);
        assertThat(last.path("head").asText()).isEqualTo(last.path("prev").asText());
        assertThat(last.path("keyId").asText()).isEqualTo(TrailFixture.KEYS.keyId());
    }

    @Test
    void reopen_continuesTheChainAndSeq() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(1));
        }
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            assertThat(trail.append(fx.event(2))).isEqualTo(3);
        }
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem()).isNull();
    }

    @Test // regression: the SIGKILL crash test caught a kill between creating the successor and sealing the segment
    void reopen_afterARotationCutShort_dropsTheEmptySuccessorAndVerifies() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(1));
            trail.record(fx.event(2));
        }
        Files.createFile(dir.resolve("segment-000002.jsonl")); // successor created, rotation checkpoint never written
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(3));
        }
        assertThat(dir.resolve("segment-000002.jsonl")).doesNotExist();
        AuditVerifier.Result r = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(r.problem()).isNull();
        assertThat(r.segments()).isEqualTo(1);
    }

    @Test
    void tick_emptyIntervals_stillWriteSignedCheckpoints() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(1));
            fx.clock.advance(Duration.ofSeconds(30));
            trail.tick(); // not due yet
            for (int i = 0; i < 3; i++) {
                fx.clock.advance(Duration.ofSeconds(60));
                trail.tick();
            }
            List<String> lines = TrailFixture.lines(dir.resolve("segment-000001.jsonl"));
            assertThat(lines).hasSize(4);
            assertThat(lines.subList(1, 4)).allSatisfy(l -> assertThat(l).contains("\"type\":\"audit.checkpoint\"", "\"reason\":\"interval\""));
            assertThat(lines.get(1)).contains("\"time\":\"2026-11-30T03:01:30.000Z\"");
        }
        var result = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(result.problem()).isNull();
        assertThat(result.checkpoints()).isEqualTo(4);
    }

    @Test
    void rotation_bySize_sealsEachSegmentAndKeepsTheChain() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config().withMaxSegmentBytes(4096))) {
            for (int i = 0; i < 200; i++) {
                trail.record(fx.event(i));
            }
        }
        List<Path> segments = segments();
        assertThat(segments.size()).isGreaterThan(5);
        for (Path s : segments.subList(0, segments.size() - 1)) {
            String last = TrailFixture.lines(s).getLast();
            assertThat(last).contains("\"reason\":\"rotation\"", "\"segment\":\"" + s.getFileName() + "\"");
            assertThat(Files.size(s)).isLessThan(4096 + 1024);
        }
        var result = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(result.problem()).isNull();
        assertThat(result.segments()).isEqualTo(segments.size());
        assertThat(result.records()).isEqualTo(200 + segments.size()); // one checkpoint per rotation + shutdown
    }

    @Test
    void rotation_byAge_startsANewSegmentAfterOneDay() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(1));
            fx.clock.advance(Duration.ofDays(1));
            trail.tick();
            trail.record(fx.event(2));
        }
        assertThat(segments()).hasSize(2);
        assertThat(TrailFixture.lines(dir.resolve("segment-000001.jsonl")).getLast()).contains("\"reason\":\"rotation\"");
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem()).isNull();
    }

    @Test
    void record_concurrentWriters_getDistinctSeqsAndOneChain() throws Exception {
        Set<Long> seqs = new HashSet<>();
        try (AuditTrail trail = fx.open(dir, TrailFixture.config().withMaxSegmentBytes(64 * 1024));
             ExecutorService pool = Executors.newFixedThreadPool(16)) {
            List<Future<List<Long>>> futures = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int base = t * 1000;
                futures.add(pool.submit(() -> {
                    List<Long> mine = new ArrayList<>();
                    for (int i = 0; i < 300; i++) {
                        mine.add(trail.append(fx.event(base + i)));
                    }
                    return mine;
                }));
            }
            for (var f : futures) {
                seqs.addAll(f.get());
            }
        }
        assertThat(seqs).hasSize(16 * 300);
        var result = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(result.problem()).isNull();
        assertThat(result.records() - result.checkpoints()).isEqualTo(16 * 300);
    }

    @Test
    void open_tornLastLine_isMovedAsideRecordedAndReported() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(1));
            trail.record(fx.event(2));
        }
        Path seg = dir.resolve("segment-000001.jsonl");
        byte[] torn = "{\"seq\":4,\"time\":\"2026-11-30T03:00:00.000Z\",\"ty".getBytes(StandardCharsets.UTF_8);
        Files.write(seg, torn, java.nio.file.StandardOpenOption.APPEND);

        var before = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), false);
        assertThat(before.problem()).isNull();
        assertThat(before.findings()).anySatisfy(f -> {
            assertThat(f.kind()).isEqualTo(AuditVerifier.Kind.TORN_TAIL);
            assertThat(f.segment()).isEqualTo("segment-000001.jsonl");
            assertThat(f.line()).isEqualTo(4);
        });
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem().kind()).isEqualTo(AuditVerifier.Kind.TORN_TAIL);

        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(3));
        }
        Path aside = dir.resolve("segment-000001.jsonl.torn-" + fx.clock.millis());
        assertThat(aside).hasBinaryContent(torn);
        JsonNode tornRecord = JSON.readTree(TrailFixture.lines(seg).get(3));
        assertThat(tornRecord.path("seq").asLong()).isEqualTo(4);
        assertThat(tornRecord.path("type").asText()).isEqualTo("audit.torn_tail");
        assertThat(tornRecord.path("segment").asText()).isEqualTo("segment-000001.jsonl");
        assertThat(tornRecord.path("bytes").asLong()).isEqualTo(torn.length);
        assertThat(tornRecord.path("sha256").asText()).isEqualTo(TrailFormat.sha256Hex(torn, 0, torn.length));

        var after = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), false);
        assertThat(after.problem()).isNull();
        assertThat(after.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(AuditVerifier.Kind.TORN_TAIL);
            assertThat(f.detail()).contains(aside.getFileName().toString());
        });
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem().kind()).isEqualTo(AuditVerifier.Kind.TORN_TAIL);
    }

    @Test
    void record_freeSpaceBelowFloor_refusesWithReasonThenResumesWhenSpaceReturns() throws Exception {
        fx.freeBytes.set(10L << 30);
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(1));
            fx.freeBytes.set(3 * AuditTrailConfig.MIB);
            assertThatThrownBy(() -> trail.record(fx.event(2)))
                    .isInstanceOf(AuditUnavailableException.class)
                    .hasMessage("audit.unavailable: free space for " + dir.toAbsolutePath() + " is 3.0 MiB, below the floor of 64.0 MiB (audit.minFreeBytes)");
            assertThat(trail.available()).isFalse();
            assertThat(trail.unavailableReason()).startsWith("audit.unavailable: free space");

            fx.freeBytes.set(10L << 30);
            trail.tick(); // resumes without waiting for a record
            assertThat(trail.available()).isTrue();
            assertThat(trail.unavailableReason()).isNull();
            assertThat(trail.append(fx.event(3))).isEqualTo(2);
        }
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem()).isNull();
    }

    @Test
    void record_tmpfsFull_refusesThenResumesWhenSpaceReturns() throws Exception {
        Path mnt = dir.resolve("tmpfs");
        Files.createDirectories(mnt);
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt.toString()).redirectErrorStream(true).start();
        String out = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(mount.waitFor())
                .withFailMessage("this test needs to mount a 2 MiB tmpfs (run as root, or with CAP_SYS_ADMIN): mount said: %s", out)
                .isZero();
        try {
            Path trailDir = mnt.resolve("audit");
            try (AuditTrail trail = new AuditTrail(trailDir, TrailFixture.config().withMinFreeBytes(0), TrailFixture.KEYS, fx.clock,
                    p -> { try { return Files.getFileStore(p).getUsableSpace(); } catch (java.io.IOException e) { throw new java.io.UncheckedIOException(e); } })) {
                trail.record(fx.event(1));
                Path filler = mnt.resolve("filler");
                try (var os = Files.newOutputStream(filler)) {
                    byte[] block = new byte[4096];
                    while (true) {
                        os.write(block);
                    }
                } catch (java.io.IOException full) {
                    // the file system is full
                }
                assertThatThrownBy(() -> { for (int i = 0; i < 1000; i++) trail.record(fx.event(100 + i)); })
                        .isInstanceOf(AuditUnavailableException.class)
                        .hasMessageContaining("audit.unavailable: cannot write the audit trail " + trailDir.resolve("segment-000001.jsonl"))
                        .hasMessageContaining("No space left on device");
                assertThat(trail.available()).isFalse();
                Files.delete(filler);
                long seq = trail.append(fx.event(2));
                assertThat(trail.available()).isTrue();
                assertThat(seq).isGreaterThan(1);
            }
            var result = AuditVerifier.verify(trailDir, TrailFixture.KEYS.publicKey(), true);
            assertThat(result.problem()).isNull();
        } finally {
            new ProcessBuilder("umount", mnt.toString()).inheritIO().start().waitFor();
        }
    }

    // Issue 11 item 5: a tunnel that closed while the trail was unwritable lost its flow.close and
    // session.end, and the report counted its user as still connected.
    @Test
    void recordOrDefer_duringOutage_keepsEndsAndWritesThemInOrderWithTheirTimesWhenBack() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config())) {
            trail.record(fx.event(1));
            fx.freeBytes.set(AuditTrailConfig.MIB); // below the 64 MiB floor: unavailable
            java.time.Instant closedAt = fx.clock.instant().plusSeconds(5);
            fx.clock.advance(Duration.ofSeconds(5));
            assertThat(trail.recordOrDefer(end("flow.close", "f-1"))).isFalse();
            fx.clock.advance(Duration.ofSeconds(1));
            assertThat(trail.recordOrDefer(end("session.end", "s-1"))).isFalse();
            assertThat(trail.deferred()).isEqualTo(2);
            // a new session is still refused: fail closed
            assertThatThrownBy(() -> trail.record(fx.event(2))).isInstanceOf(AuditUnavailableException.class)
                    .hasMessageStartingWith("audit.unavailable: free space for");
            assertThat(trail.available()).isFalse();

            fx.clock.advance(Duration.ofMinutes(1));
            fx.freeBytes.set(10L << 30);
            trail.tick(); // the periodic retry writes what was kept
            assertThat(trail.available()).isTrue();
            assertThat(trail.deferred()).isZero();
            assertThat(trail.append(fx.event(3))).isEqualTo(5); // 1 + the two kept + the interval checkpoint of the tick
        }
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem()).isNull();
        List<JsonNode> records = new ArrayList<>();
        for (String line : TrailFixture.lines(dir.resolve("segment-000001.jsonl"))) {
            records.add(JSON.readTree(line));
        }
        assertThat(records).extracting(r -> r.path("type").asText())
                .containsExactly("session.start", "flow.close", "session.end", "audit.checkpoint", "session.start", "audit.checkpoint");
        assertThat(records.get(1).path("time").asText()).isEqualTo("2026-11-30T03:00:05.000Z");
        assertThat(records.get(1).path("flow").asText()).isEqualTo("f-1");
        assertThat(records.get(2).path("time").asText()).isEqualTo("2026-11-30T03:00:06.000Z");
        assertThat(records.get(2).path("session").asText()).isEqualTo("s-1");
    }

    @Test
    void recordOrDefer_overTheBound_dropsCountsAndRecordsTheCountWhenBack() throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config().withMaxDeferred(2))) {
            fx.freeBytes.set(AuditTrailConfig.MIB);
            for (int i = 1; i <= 5; i++) {
                fx.clock.advance(Duration.ofSeconds(1));
                assertThat(trail.recordOrDefer(end("session.end", "s-" + i))).isFalse();
            }
            assertThat(trail.deferred()).isEqualTo(2);
            assertThat(trail.droppedTotal()).isEqualTo(3);
            fx.clock.advance(Duration.ofSeconds(10));
            fx.freeBytes.set(10L << 30);
            assertThat(trail.recordOrDefer(end("session.end", "s-6"))).isTrue();
        }
        List<JsonNode> records = new ArrayList<>();
        for (String line : TrailFixture.lines(dir.resolve("segment-000001.jsonl"))) {
            records.add(JSON.readTree(line));
        }
        assertThat(records).extracting(r -> r.path("type").asText() + " " + r.path("session").asText(""))
                .containsExactly("session.end s-1", "session.end s-2", "audit.dropped ", "session.end s-6", "audit.checkpoint ");
        JsonNode dropped = records.get(2);
        assertThat(dropped.path("count").asLong()).isEqualTo(3);
        assertThat(dropped.path("firstTime").asText()).isEqualTo("2026-11-30T03:00:03.000Z");
        assertThat(dropped.path("lastTime").asText()).isEqualTo("2026-11-30T03:00:05.000Z");
        assertThat(dropped.path("time").asText()).isEqualTo("2026-11-30T03:00:15.000Z");
        assertThat(dropped.path("reason").asText()).startsWith("audit.unavailable: free space for");
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem()).isNull();
    }

    @Test
    void close_whileUnavailable_writesNoShutdownCheckpointSoTheStopIsSeenAsUnclean() throws Exception {
        AuditTrail trail = fx.open(dir, TrailFixture.config());
        trail.record(fx.event(1));
        fx.freeBytes.set(AuditTrailConfig.MIB);
        assertThat(trail.recordOrDefer(end("session.end", "s-1"))).isFalse();
        assertThatThrownBy(trail::close).isInstanceOf(AuditUnavailableException.class);
        assertThat(TrailFixture.lines(dir.resolve("segment-000001.jsonl"))).hasSize(1);
    }

    private org.postern.audit.AuditEvent end(String type, String id) {
        return org.postern.audit.AuditEvent.of(type, fx.clock.instant())
                .with(type.startsWith("flow") ? "flow" : "session", id).with("device", "laptop-1").build();
    }

    @Test
    void keys_loadOrCreate_writesPrivateKeyWithMode0600AndLoadsTheSameKey() throws Exception {
        Path keyFile = dir.resolve("audit.key");
        AuditKeys created = AuditKeys.loadOrCreate(keyFile, new SecureRandom());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");
        AuditKeys loaded = AuditKeys.loadOrCreate(keyFile, new SecureRandom());
        assertThat(loaded.keyId()).isEqualTo(created.keyId());
        Path pub = dir.resolve("audit.pub");
        created.exportPublicKey(pub);
        assertThat(Files.readString(pub)).startsWith("-----BEGIN PUBLIC KEY-----\n");
        assertThat(AuditKeys.keyId(AuditKeys.readPublicKey(pub))).isEqualTo(created.keyId());
        assertThat(created.toString()).contains("redacted").doesNotContain(java.util.Base64.getEncoder().encodeToString(created.privateKey().getEncoded()));
    }

    private List<Path> segments() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList();
        }
    }

}
