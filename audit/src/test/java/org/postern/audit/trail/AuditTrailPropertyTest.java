package org.postern.audit.trail;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterProperty;
import org.postern.audit.AuditEvent;

/**
 * Issue 11, hardening: a trail written by the real writer, with generated records, checkpoints and
 * rotations, then one generated edit — a byte or a field of any record changed, a record deleted,
 * two records swapped, a record duplicated, the files cut at any byte, a segment deleted — is
 * always caught by {@link AuditVerifier}.
 *
 * <p>Locally, a verifier cannot catch a change to the trail's very last line when nothing follows
 * it (a checkpoint's {@code reason}, or its ECDSA signature replaced by the other valid one, is not
 * chained by any record), nor a cut exactly after a checkpoint (docs/audit.md). The auditor's anchor
 * — the last checkpoint that {@code verify} printed before the edit — covers both, so the first
 * property verifies with it, as an auditor following docs/audit.md does; the second shows what a
 * verification without an anchor still catches.
 */
class AuditTrailPropertyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<Path> dirs = new ArrayList<>();

    /** One step of the writer: a record with generated text, an interval checkpoint, or a rotation. */
    sealed interface Step permits Rec, Checkpoint, Rotate {}

    record Rec(String device, String user, String detail, long bytes) implements Step {}

    record Checkpoint() implements Step {}

    record Rotate() implements Step {}

    /** One edit; the numbers pick a line, a byte, a segment, taken modulo what the trail holds. */
    sealed interface Edit permits ChangeByte, ChangeField, DeleteLine, SwapLines, DuplicateLine, Truncate, DeleteSegment {}

    record ChangeByte(int line, int offset, int delta) implements Edit {}

    record ChangeField(int line, int field) implements Edit {}

    record DeleteLine(int line) implements Edit {}

    record SwapLines(int a, int b) implements Edit {}

    record DuplicateLine(int line, int to) implements Edit {}

    record Truncate(long at) implements Edit {}

    record DeleteSegment(int segment) implements Edit {}

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(24)
                .withCharRange(' ', '~').withCharRange('\u0000', '\u001f').withChars('\u007f', '\u0085', '\u00e9', '\u202e', '\u2066', '\ufeff', '山')
                .withChars('"', '\\');
        Arbitrary<Step> rec = Combinators.combine(text, text, text, Arbitraries.longs().between(0, Long.MAX_VALUE)).as(Rec::new);
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(12, rec),
                        net.jqwik.api.Tuple.of(2, Arbitraries.just(new Checkpoint())),
                        net.jqwik.api.Tuple.of(1, Arbitraries.just(new Rotate())))
                .list().ofMinSize(1).ofMaxSize(24);
    }

    @Provide
    Arbitrary<Edit> edits() {
        Arbitrary<Integer> any = Arbitraries.integers().between(0, Integer.MAX_VALUE);
        return Arbitraries.oneOf(
                Combinators.combine(any, any, Arbitraries.integers().between(1, 255)).as(ChangeByte::new),
                Combinators.combine(any, any).as(ChangeField::new),
                any.map(DeleteLine::new),
                Combinators.combine(any, any).as(SwapLines::new),
                Combinators.combine(any, any).as(DuplicateLine::new),
                Arbitraries.longs().between(0, Long.MAX_VALUE).map(Truncate::new),
                any.map(DeleteSegment::new));
    }

    @Property(tries = 60, shrinking = ShrinkingMode.BOUNDED)
    void anyEdit_isDetected_againstTheAuditorsAnchor(@ForAll("steps") List<Step> steps,
                                                     @ForAll @Size(min = 1, max = 6) List<@net.jqwik.api.From("edits") Edit> edits) throws Exception {
        Path original = write(steps);
        AuditVerifier.Result before = AuditVerifier.verify(original, TrailFixture.KEYS.publicKey(), true);
        assertThat(before.ok()).as("the untouched trail: %s", before.problem()).isTrue();
        Anchor kept = before.anchor();
        assertThat(kept).as("a clean close ends with a checkpoint").isNotNull();
        for (Edit edit : edits) {
            Path copy = copy(original);
            String what = apply(copy, edit);
            if (what == null) {
                continue; // the edit left every byte as it was (a swap of a line with itself)
            }
            var options = new AuditVerifier.Options(false, false, kept);
            AuditVerifier.Result r = AuditVerifier.verify(copy, TrailFixture.KEYS.publicKey(), options);
            assertThat(r.ok()).as("%s was not detected (anchor %s, %s)", what, kept, r).isFalse();
        }
    }

    @Property(tries = 40, shrinking = ShrinkingMode.BOUNDED)
    void anyEditBeforeTheLastLine_isDetected_withoutAnAnchor(@ForAll("steps") List<Step> steps,
                                                             @ForAll @Size(min = 1, max = 6) List<@net.jqwik.api.From("edits") Edit> edits) throws Exception {
        Path original = write(steps);
        List<byte[]> lines = lines(original);
        for (Edit edit : edits) {
            if (onlyTheLastLine(edit, lines) || cutAfterACheckpoint(edit, original) || lastLineDeletedAfterACheckpoint(edit, lines)) {
                continue; // what a local verification cannot see (class comment); the anchor property covers it
            }
            Path copy = copy(original);
            String what = apply(copy, edit);
            if (what == null) {
                continue;
            }
            AuditVerifier.Result r = AuditVerifier.verify(copy, TrailFixture.KEYS.publicKey(), true);
            assertThat(r.ok()).as("%s was not detected (%s)", what, r).isFalse();
        }
    }

    @AfterProperty
    void removeDirectories() throws IOException {
        for (Path d : dirs) {
            try (Stream<Path> walk = Files.walk(d)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        dirs.clear();
    }

    // ---- writing and editing

    private Path write(List<Step> steps) throws IOException {
        Path dir = tempDir();
        TrailFixture fx = new TrailFixture();
        Duration age = Duration.ofHours(1);
        try (AuditTrail trail = fx.open(dir, TrailFixture.config().withMaxSegmentAge(age))) {
            int i = 0;
            for (Step s : steps) {
                switch (s) {
                    case Rec r -> trail.record(AuditEvent.of("flow.close", fx.clock.instant()).with("session", "s-" + i++)
                            .with("device", r.device()).with("user", r.user()).with("detail", r.detail()).with("bytesUp", r.bytes()).build());
                    case Checkpoint c -> {
                        fx.clock.advance(Duration.ofSeconds(61));
                        trail.tick();
                    }
                    case Rotate r -> {
                        fx.clock.advance(age);
                        trail.tick();
                    }
                }
                fx.clock.advance(Duration.ofMillis(7));
            }
        }
        return dir;
    }

    private Path tempDir() throws IOException {
        // tmpfs when there is one: the writer forces every record, and only the bytes matter here
        Path shm = Path.of("/dev/shm");
        Path d = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "trail-prop") : Files.createTempDirectory("trail-prop");
        dirs.add(d);
        return d;
    }

    private Path copy(Path from) throws IOException {
        Path to = tempDir();
        for (Path f : segments(from)) {
            Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    private static List<Path> segments(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(p -> TrailFormat.segmentNumber(p.getFileName().toString()) > 0).sorted().toList();
        }
    }

    /** Every line of the trail, in order, without its {@code \n}; {@link #segmentOf} says where each is. */
    private static List<byte[]> lines(Path dir) throws IOException {
        List<byte[]> out = new ArrayList<>();
        for (Path f : segments(dir)) {
            out.addAll(split(Files.readAllBytes(f)));
        }
        return out;
    }

    private static List<byte[]> split(byte[] b) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '\n') {
                out.add(Arrays.copyOfRange(b, start, i));
                start = i + 1;
            }
        }
        return out;
    }

    /** Applies {@code e} to the trail in {@code dir}; returns what it did, or null when nothing changed. */
    private static String apply(Path dir, Edit e) throws IOException {
        List<Path> files = segments(dir);
        List<List<byte[]>> segs = new ArrayList<>();
        for (Path f : files) {
            segs.add(new ArrayList<>(split(Files.readAllBytes(f))));
        }
        List<int[]> at = new ArrayList<>(); // flat line index → {segment, line}
        for (int s = 0; s < segs.size(); s++) {
            for (int l = 0; l < segs.get(s).size(); l++) {
                at.add(new int[] {s, l});
            }
        }
        int n = at.size();
        String what;
        switch (e) {
            case ChangeByte c -> {
                int[] p = at.get(c.line() % n);
                Path f = files.get(p[0]);
                byte[] b = Files.readAllBytes(f);
                int start = 0;
                for (int l = 0; l < p[1]; l++) {
                    start += segs.get(p[0]).get(l).length + 1;
                }
                int off = c.offset() % (segs.get(p[0]).get(p[1]).length + 1); // one of the line's bytes, or its \n
                b[start + off] = (byte) (b[start + off] + c.delta());
                Files.write(f, b);
                return "byte " + off + " of line " + (c.line() % n + 1) + " changed by " + c.delta();
            }
            case ChangeField c -> {
                int[] p = at.get(c.line() % n);
                ObjectNode o = (ObjectNode) JSON.readTree(segs.get(p[0]).get(p[1]));
                List<String> names = new ArrayList<>();
                o.fieldNames().forEachRemaining(names::add);
                String name = names.get(c.field() % names.size());
                JsonNode v = o.get(name);
                o.set(name, v.isNumber() ? JSON.getNodeFactory().numberNode(v.asLong() + 1) : new TextNode(v.asText() + "x"));
                segs.get(p[0]).set(p[1], JSON.writeValueAsBytes(o));
                what = "field " + name + " of line " + (c.line() % n + 1) + " changed";
            }
            case DeleteLine d -> {
                int[] p = at.get(d.line() % n);
                segs.get(p[0]).remove(p[1]);
                what = "line " + (d.line() % n + 1) + " deleted";
            }
            case SwapLines s -> {
                int a = s.a() % n;
                int b = s.b() % n;
                if (a == b) {
                    return null;
                }
                int[] pa = at.get(a);
                int[] pb = at.get(b);
                byte[] la = segs.get(pa[0]).get(pa[1]);
                segs.get(pa[0]).set(pa[1], segs.get(pb[0]).get(pb[1]));
                segs.get(pb[0]).set(pb[1], la);
                what = "lines " + (a + 1) + " and " + (b + 1) + " swapped";
            }
            case DuplicateLine d -> {
                int[] p = at.get(d.line() % n);
                int[] to = at.get(d.to() % n);
                segs.get(to[0]).add(to[1] + 1, segs.get(p[0]).get(p[1]).clone());
                what = "line " + (d.line() % n + 1) + " copied after line " + (d.to() % n + 1);
            }
            case Truncate t -> {
                long total = 0;
                for (Path f : files) {
                    total += Files.size(f);
                }
                long cut = t.at() % total; // strictly less than the whole: something is cut
                long seen = 0;
                for (int s = 0; s < files.size(); s++) {
                    byte[] b = Files.readAllBytes(files.get(s));
                    if (cut < seen + b.length) {
                        Files.write(files.get(s), Arrays.copyOf(b, (int) (cut - seen)));
                        for (int k = s + 1; k < files.size(); k++) {
                            Files.delete(files.get(k));
                        }
                        return "the trail cut at byte " + cut + " of " + total;
                    }
                    seen += b.length;
                }
                throw new IllegalStateException("cut " + cut + " outside " + total);
            }
            case DeleteSegment d -> {
                Path f = files.get(d.segment() % files.size());
                Files.delete(f);
                return f.getFileName() + " deleted";
            }
        }
        for (int s = 0; s < files.size(); s++) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (byte[] line : segs.get(s)) {
                out.writeBytes(line);
                out.write('\n');
            }
            Files.write(files.get(s), out.toByteArray());
        }
        return what;
    }

    /** A change of bytes or fields of the last line alone: nothing after it chains it. */
    private static boolean onlyTheLastLine(Edit e, List<byte[]> lines) {
        int n = lines.size();
        return switch (e) {
            case ChangeByte c -> c.line() % n == n - 1;
            case ChangeField c -> c.line() % n == n - 1;
            default -> false;
        };
    }

    /** The last line deleted where the line before it is a checkpoint: the same as a cut after that checkpoint. */
    private static boolean lastLineDeletedAfterACheckpoint(Edit e, List<byte[]> lines) {
        int n = lines.size();
        if (!(e instanceof DeleteLine d) || d.line() % n != n - 1 || n < 2) {
            return false;
        }
        String before = new String(lines.get(n - 2), StandardCharsets.UTF_8);
        return before.contains("\"type\":\"audit.checkpoint\"") && !before.contains("\"reason\":\"rotation\"");
    }

    /** A cut right after a checkpoint that is not a rotation's leaves a trail that looks closed there. */
    private static boolean cutAfterACheckpoint(Edit e, Path dir) {
        if (!(e instanceof Truncate t)) {
            return false;
        }
        try {
            long total = 0;
            List<Path> files = segments(dir);
            for (Path f : files) {
                total += Files.size(f);
            }
            long cut = t.at() % total;
            long seen = 0;
            for (Path f : files) {
                byte[] b = Files.readAllBytes(f);
                if (cut < seen + b.length) {
                    int end = (int) (cut - seen);
                    if (end == 0) {
                        return false; // the segment emptied: its predecessor ends with a rotation, whose successor is now empty
                    }
                    if (b[end - 1] != '\n') {
                        return false;
                    }
                    int start = end - 1;
                    while (start > 0 && b[start - 1] != '\n') {
                        start--;
                    }
                    String line = new String(b, start, end - 1 - start, StandardCharsets.UTF_8);
                    return line.contains("\"type\":\"audit.checkpoint\"") && !line.contains("\"reason\":\"rotation\"");
                }
                seen += b.length;
            }
            return false;
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }
}
