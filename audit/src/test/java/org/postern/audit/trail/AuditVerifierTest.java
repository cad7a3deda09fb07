package org.postern.audit.trail;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.trail.AuditVerifier.Kind;

/** Each kind of tampering is detected and named with its place. */
class AuditVerifierTest {
    private final TrailFixture fx = new TrailFixture();
    @TempDir
    Path dir;
    Path seg1;
    Path seg2;
    Path seg3;

    /** Three segments of 30 events each (rotation by age), an interval checkpoint inside each, a shutdown checkpoint. */
    @BeforeEach
    void writeTrail() throws Exception {
        writeTrail(TrailFixture.KEYS);
        seg1 = dir.resolve("segment-000001.jsonl");
        seg2 = dir.resolve("segment-000002.jsonl");
        seg3 = dir.resolve("segment-000003.jsonl");
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).problem()).isNull();
    }

    private void writeTrail(AuditKeys keys) throws Exception {
        try (AuditTrail trail = fx.open(dir, TrailFixture.config().withMaxSegmentAge(Duration.ofHours(1)), keys)) {
            int n = 0;
            for (int s = 0; s < 3; s++) {
                for (int i = 0; i < 30; i++) {
                    trail.record(fx.event(n++));
                    if (i == 14) {
                        fx.clock.advance(Duration.ofSeconds(61));
                        trail.tick();
                    }
                }
                if (s < 2) {
                    fx.clock.advance(Duration.ofHours(1));
                    trail.tick(); // rotates
                }
            }
        }
    }

    private AuditVerifier.Finding problem(boolean strict) throws Exception {
        var result = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), strict);
        assertThat(result.ok()).isFalse();
        return result.problem();
    }

    @Test
    void verify_untouchedTrail_isOkWithCounts() throws Exception {
        var r = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(r.ok()).isTrue();
        assertThat(r.gateway()).isEqualTo("gw-test");
        assertThat(r.segments()).isEqualTo(3);
        assertThat(r.checkpoints()).isEqualTo(3 + 2 + 1); // interval, rotation (which also resets the interval), shutdown
        assertThat(r.records()).isEqualTo(90 + r.checkpoints());
        assertThat(r.unsealed()).isZero();
        assertThat(r.findings()).isEmpty();
    }

    /** Found by AuditTrailPropertyTest: an edited first time of the shape of a time made the verifier throw. */
    @Test
    void verify_firstRecordsTimeEditedKeepingItsShape_isEdited_notAnException() throws Exception {
        List<String> lines = TrailFixture.lines(seg1);
        assertThat(lines.get(0)).contains("\"time\":\"2026-11-30T03:00:00.000Z\"");
        lines.set(0, lines.get(0).replace("\"time\":\"2026-", "\"time\":\":026-"));
        TrailFixture.write(seg1, lines);

        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.EDITED);
        assertThat(p.toString()).startsWith("edited at segment-000001.jsonl:1 (seq 1)");
    }

    @Test
    void verify_oneByteFlipped_isEditedAtThatRecord() throws Exception {
        List<String> lines = TrailFixture.lines(seg2);
        String line = lines.get(4);
        assertThat(line).contains("\"user\":\"alice\"");
        lines.set(4, line.replace("\"user\":\"alice\"", "\"user\":\"alicf\""));
        TrailFixture.write(seg2, lines);

        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.EDITED);
        assertThat(p.segment()).isEqualTo("segment-000002.jsonl");
        assertThat(p.line()).isEqualTo(5);
        assertThat(p.seq()).isEqualTo(seqOf(line));
        assertThat(p.toString()).startsWith("edited at segment-000002.jsonl:5 (seq " + seqOf(line) + "): the record was changed");
    }

    @Test
    void verify_lineMadeInvalidJson_isEditedAtThatLine() throws Exception {
        List<String> lines = TrailFixture.lines(seg1);
        lines.set(2, lines.get(2).replace("{\"seq\"", "[\"seq\""));
        TrailFixture.write(seg1, lines);
        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.EDITED);
        assertThat(p.segment()).isEqualTo("segment-000001.jsonl");
        assertThat(p.line()).isEqualTo(3);
    }

    @Test
    void verify_lineDeleted_isDeletedWhereTheGapIs() throws Exception {
        List<String> lines = TrailFixture.lines(seg2);
        long removed = seqOf(lines.get(6));
        lines.remove(6);
        TrailFixture.write(seg2, lines);

        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.DELETED);
        assertThat(p.segment()).isEqualTo("segment-000002.jsonl");
        assertThat(p.line()).isEqualTo(7);
        assertThat(p.seq()).isEqualTo(removed + 1);
        assertThat(p.detail()).isEqualTo("record seq " + removed + " is missing before seq " + (removed + 1));
    }

    @Test
    void verify_twoLinesSwapped_isReordered() throws Exception {
        List<String> lines = TrailFixture.lines(seg1);
        String a = lines.get(9);
        lines.set(9, lines.get(10));
        lines.set(10, a);
        TrailFixture.write(seg1, lines);

        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.REORDERED);
        assertThat(p.segment()).isEqualTo("segment-000001.jsonl");
        assertThat(p.line()).isEqualTo(10);
        assertThat(p.seq()).isEqualTo(seqOf(a) + 1);
    }

    @Test
    void verify_lastLinesDeleted_areUnsealedAndStrictFailsAsTruncated() throws Exception {
        List<String> lines = TrailFixture.lines(seg3);
        int keep = lines.size() - 3;
        long lastKept = seqOf(lines.get(keep - 1));
        TrailFixture.write(seg3, lines.subList(0, keep));

        var lenient = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), false);
        assertThat(lenient.ok()).isTrue();
        assertThat(lenient.unsealed()).isEqualTo(13); // 15 after the interval checkpoint, 2 cut off (plus the shutdown checkpoint)
        assertThat(lenient.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(Kind.UNSEALED);
            assertThat(f.seq()).isEqualTo(lastKept);
        });

        var p = problem(true);
        assertThat(p.kind()).isEqualTo(Kind.TRUNCATED);
        assertThat(p.segment()).isEqualTo("segment-000003.jsonl");
        assertThat(p.line()).isEqualTo(keep);
        assertThat(p.seq()).isEqualTo(lastKept);
        assertThat(p.detail()).startsWith("13 record(s) after the last checkpoint");
    }

    @Test
    void verify_segmentEndCutOff_isTruncatedAtThatSegment() throws Exception {
        List<String> lines = TrailFixture.lines(seg1);
        TrailFixture.write(seg1, lines.subList(0, lines.size() - 2));
        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.TRUNCATED);
        assertThat(p.segment()).isEqualTo("segment-000001.jsonl");
        assertThat(p.line()).isEqualTo(lines.size() - 1);
    }

    @Test
    void verify_middleSegmentDeleted_isMissingSegment() throws Exception {
        Files.delete(seg2);
        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.MISSING_SEGMENT);
        assertThat(p.segment()).isEqualTo("segment-000002.jsonl");
        assertThat(p.detail()).contains("segment-000003.jsonl");
    }

    @Test
    void verify_lastSegmentDeleted_isMissingSegment() throws Exception {
        Files.delete(seg3);
        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.MISSING_SEGMENT);
        assertThat(p.segment()).isEqualTo("segment-000003.jsonl");
    }

    @Test
    void verify_firstSegmentDeleted_isMissingSegment() throws Exception {
        Files.delete(seg1);
        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.MISSING_SEGMENT);
        assertThat(p.segment()).isEqualTo("segment-000001.jsonl");
    }

    @Test
    void verify_checkpointSignatureReplaced_isBadSignature() throws Exception {
        List<String> lines = TrailFixture.lines(seg3);
        int last = lines.size() - 1;
        String other = sigOf(TrailFixture.lines(seg1).getLast());
        lines.set(last, lines.get(last).replaceFirst("\"sig\":\"[^\"]+\"", "\"sig\":\"" + other + "\""));
        TrailFixture.write(seg3, lines);

        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.BAD_SIGNATURE);
        assertThat(p.segment()).isEqualTo("segment-000003.jsonl");
        assertThat(p.line()).isEqualTo(last + 1);
    }

    @Test
    void verify_trailReSignedWithAnotherKey_isWrongKeyAtTheFirstCheckpoint() throws Exception {
        for (Path p : List.of(seg1, seg2, seg3)) {
            Files.delete(p);
        }
        writeTrail(TrailFixture.OTHER_KEYS); // a whole, consistent trail — signed by someone else
        assertThat(AuditVerifier.verify(dir, TrailFixture.OTHER_KEYS.publicKey(), true).ok()).isTrue();

        var p = problem(false);
        assertThat(p.kind()).isEqualTo(Kind.WRONG_KEY);
        assertThat(p.segment()).isEqualTo("segment-000001.jsonl");
        assertThat(p.line()).isEqualTo(16);
        assertThat(p.detail()).contains(TrailFixture.OTHER_KEYS.keyId(), TrailFixture.KEYS.keyId());
    }

    private static long seqOf(String line) {
        return Long.parseLong(line.substring("{\"seq\":".length(), line.indexOf(',')));
    }

    private static String sigOf(String line) {
        int i = line.indexOf("\"sig\":\"") + 7;
        return line.substring(i, line.indexOf('"', i));
    }
}
