package org.postern.audit.trail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.jspecify.annotations.Nullable;

/**
 * Checks an audit directory: the segment files are numbered without gaps, every record's
 * {@code seq} follows the one before, every {@code prev} is the SHA-256 of the line before (across
 * segments), every checkpoint is signed by the given key, every closed segment ends with its
 * rotation checkpoint. Stops at the first problem and names it: segment file, line, seq, kind.
 */
public final class AuditVerifier {

    /** What is wrong, by its stable code ({@link #code()}), as {@code postern audit verify} prints it. */
    public enum Kind {
        /** A record was changed: the next record's {@code prev} does not match it, or it is not JSON. */
        EDITED,
        /** {@code seq} jumps forward: records are missing. */
        DELETED,
        /** {@code seq} goes back, or a missing record turns up later. */
        REORDERED,
        /** Records are missing at the end of a segment, or unsealed at the end of the trail (strict). */
        TRUNCATED,
        /** A segment file number is missing. */
        MISSING_SEGMENT,
        /** A checkpoint signature does not verify with the key. */
        BAD_SIGNATURE,
        /** A checkpoint names a different signing key. */
        WRONG_KEY,
        /** A torn last line after a crash (moved aside, or still at the end of the last segment). */
        TORN_TAIL,
        /** Records after the last checkpoint; a finding, a failure ({@link #TRUNCATED}) only when strict. */
        UNSEALED,
        /** No records at all: every segment deleted, or never written; a failure unless an empty trail is expected. */
        EMPTY,
        /** The record at the auditor's anchor seq is not the anchored record: the trail was rewritten up to there. */
        ANCHOR_MISMATCH;

        public String code() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One place in the trail and what is wrong there; {@code line} is 1-based, 0 for a whole file; {@code segment} "-" for none. */
    public record Finding(Kind kind, String segment, long line, long seq, String detail) {
        public Finding {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(detail, "detail");
        }

        @Override
        public String toString() {
            return kind.code() + ("-".equals(segment) ? "" : " at " + segment) + (line > 0 ? ":" + line : "") + (seq > 0 ? " (seq " + seq + ")" : "") + ": " + detail;
        }
    }

    /**
     * The outcome: counts of what was read, the first {@code problem} (null when the trail
     * verifies) and {@code findings} that are not failures in this mode (torn tails, unsealed records).
     * {@code gateway} is the writer named by the first record that verified (null when none did), so
     * that a verification of several gateways' trails can say whose trail each result is.
     */
    public record Result(@Nullable String gateway, long records, int segments, long checkpoints, @Nullable Instant firstTime, @Nullable Instant lastTime,
                         long unsealed, @Nullable Finding problem, List<Finding> findings, @Nullable Anchor anchor) {
        public Result {
            findings = List.copyOf(findings);
        }

        public boolean ok() {
            return problem == null;
        }
    }

    /**
     * What the caller expects besides an intact chain.
     *
     * @param strict     records after the last checkpoint and torn tails fail instead of being reported
     * @param allowEmpty a trail without records passes (a gateway that never wrote one); otherwise it
     *                   fails with {@link Kind#EMPTY}, since deleting every segment leaves exactly that
     * @param anchor     a record the auditor saw before (null: none); the trail must still hold it, byte for byte
     */
    public record Options(boolean strict, boolean allowEmpty, @Nullable Anchor anchor) {
        public static Options of(boolean strict) {
            return new Options(strict, false, null);
        }
    }

    private static final JsonFactory JSON = new JsonFactory();

    private AuditVerifier() {
    }

    /**
     * Verifies the trail in {@code dir} with the audit public key. With {@code strict}, records
     * after the last checkpoint and torn tails fail the verification instead of being reported.
     * A trail without records fails ({@link Kind#EMPTY}).
     */
    public static Result verify(Path dir, PublicKey key, boolean strict) throws IOException {
        return verify(dir, key, Options.of(strict));
    }

    /** Verifies the trail in {@code dir} with the audit public key and what {@code options} expect. */
    public static Result verify(Path dir, PublicKey key, Options options) throws IOException {
        return new Run(dir, key, options).run();
    }

    /** One line as read: the fields the verifier needs; checkpoint fields only on checkpoints. */
    private static final class Line {
        long seq = -1;
        String time;
        String type;
        String gateway;
        String prev;
        long records = -1;
        String head;
        String segment;
        String reason;
        String keyId;
        String sig;

        boolean isCheckpoint() {
            return TrailFormat.CHECKPOINT_TYPE.equals(type);
        }
    }

    private static final class Run {
        private final Path dir;
        private final PublicKey key;
        private final String keyId;
        private final boolean strict;
        private final Options options;
        private final MessageDigest sha = TrailFormat.sha256();
        private final List<Finding> findings = new ArrayList<>();
        private long records;
        private int segments;
        private long checkpoints;
        private String firstTime;
        private @Nullable String gateway;
        private String lastTime;
        private long lastSeq;
        private String lastHash = TrailFormat.GENESIS;
        private String lastSegment;
        private long lastLine;
        private long lastCheckpointSeq;
        private Line lastRecord;
        private @Nullable Anchor lastCheckpoint;

        Run(Path dir, PublicKey key, Options options) {
            this.dir = dir;
            this.key = key;
            this.keyId = AuditKeys.keyId(key);
            this.strict = options.strict();
            this.options = options;
        }

        Result run() throws IOException {
            TreeMap<Long, Path> files = new TreeMap<>();
            List<String> torn = new ArrayList<>();
            try (var list = Files.list(dir)) {
                for (Path p : (Iterable<Path>) list::iterator) {
                    String name = p.getFileName().toString();
                    long n = TrailFormat.segmentNumber(name);
                    if (n > 0) {
                        files.put(n, p);
                    } else if (TrailFormat.TORN.matcher(name).matches()) {
                        torn.add(name);
                    }
                }
            }
            torn.sort(null);
            for (String t : torn) {
                Matcher m = TrailFormat.TORN.matcher(t);
                m.matches();
                findings.add(new Finding(Kind.TORN_TAIL, m.group(1), 0, 0,
                        "a torn last line (" + Files.size(dir.resolve(t)) + " bytes) was moved aside to " + t + " after a crash"));
            }
            Finding problem = null;
            long expectedNumber = 1;
            for (var e : files.entrySet()) {
                if (e.getKey() != expectedNumber) {
                    problem = new Finding(Kind.MISSING_SEGMENT, TrailFormat.segmentName(expectedNumber), 0, lastSeq + 1,
                            "segment file " + TrailFormat.segmentName(expectedNumber) + " is missing (next present: " + e.getValue().getFileName() + ")");
                    break;
                }
                segments++;
                problem = segment(e.getValue().getFileName().toString(), Files.readAllBytes(e.getValue()), e.getKey() == files.lastKey());
                if (problem != null) {
                    break;
                }
                expectedNumber++;
            }
            long unsealed = lastSeq - lastCheckpointSeq;
            if (problem == null && lastRecord != null && lastRecord.isCheckpoint() && "rotation".equals(lastRecord.reason)) {
                problem = new Finding(Kind.MISSING_SEGMENT, TrailFormat.segmentName(expectedNumber), 0, lastSeq + 1,
                        lastSegment + " ends with a rotation checkpoint, but " + TrailFormat.segmentName(expectedNumber) + " is missing");
            }
            if (problem == null && unsealed > 0) {
                String detail = unsealed + " record(s) after the last checkpoint (seq " + lastCheckpointSeq + ") are unsealed: "
                        + "written after it, or the tail after them was cut off";
                if (strict) {
                    problem = new Finding(Kind.TRUNCATED, lastSegment, lastLine, lastSeq, detail);
                } else {
                    findings.add(new Finding(Kind.UNSEALED, lastSegment, lastLine, lastSeq, detail));
                }
            }
            if (problem == null && strict) {
                problem = findings.stream().filter(f -> f.kind() == Kind.TORN_TAIL).findFirst().orElse(null);
            }
            if (problem == null && records == 0 && !options.allowEmpty()) {
                problem = new Finding(Kind.EMPTY, files.isEmpty() ? "-" : files.lastEntry().getValue().getFileName().toString(), 0, 0,
                        files.isEmpty()
                                ? "no segment files in " + dir + ": expected at least segment-000001.jsonl (every segment was deleted, or this is not the trail)"
                                : "the segment files hold no records: expected at least one (their records were deleted, or the trail was never written)");
            }
            Anchor anchor = options.anchor();
            if (problem == null && anchor != null && lastSeq < anchor.seq()) {
                problem = new Finding(Kind.TRUNCATED, lastSegment == null ? "-" : lastSegment, lastLine, lastSeq + 1,
                        "the trail ends at seq " + lastSeq + ", before the anchor " + anchor.text()
                                + ": records up to seq " + anchor.seq() + " at least were cut off");
            }
            return new Result(gateway, records, segments, checkpoints, instant(firstTime), instant(lastTime), unsealed, problem, findings, lastCheckpoint);
        }

        /** Checks one segment; returns the first problem in it, or null. */
        private @Nullable Finding segment(String name, byte[] b, boolean lastSegmentFile) {
            int pos = 0;
            long lineNo = 0;
            Line line = null;
            while (pos < b.length) {
                int end = indexOf(b, pos);
                lineNo++;
                if (end < 0) {
                    if (lastSegmentFile) {
                        findings.add(new Finding(Kind.TORN_TAIL, name, lineNo, lastSeq + 1,
                                "the last line (" + (b.length - pos) + " bytes) is incomplete: the writer crashed mid-line and the trail was not reopened since"));
                        break;
                    }
                    return new Finding(Kind.EDITED, name, lineNo, lastSeq + 1, "the segment's last line has no line end");
                }
                line = parse(b, pos, end);
                if (line == null) {
                    if (lastSegmentFile && end == b.length - 1) {
                        findings.add(new Finding(Kind.TORN_TAIL, name, lineNo, lastSeq + 1,
                                "the last line is not a record: the writer crashed mid-line and the trail was not reopened since"));
                        break;
                    }
                    return new Finding(Kind.EDITED, name, lineNo, lastSeq + 1, "the line is not a JSON audit record");
                }
                long expected = lastSeq + 1;
                boolean chained = line.prev.equals(lastHash);
                String hash = hash(b, pos, end);
                if (line.seq != expected) {
                    if (chained) {
                        return new Finding(Kind.EDITED, name, lineNo, line.seq,
                                "seq is " + line.seq + " but the record follows seq " + lastSeq + " in the chain (its seq was changed)");
                    }
                    if (line.seq < expected) {
                        return new Finding(Kind.REORDERED, name, lineNo, line.seq, "seq " + line.seq + " comes after seq " + lastSeq);
                    }
                    Line next = end + 1 < b.length ? parse(b, end + 1, Math.max(indexOf(b, end + 1), end + 1)) : null;
                    if (next != null && next.seq < line.seq && next.seq >= expected) {
                        return new Finding(Kind.REORDERED, name, lineNo, line.seq,
                                "seq " + line.seq + " comes before seq " + next.seq + " (expected seq " + expected + " here)");
                    }
                    return new Finding(Kind.DELETED, name, lineNo, line.seq,
                            (line.seq - expected == 1 ? "record seq " + expected + " is" : "records seq " + expected + ".." + (line.seq - 1) + " are")
                                    + " missing before seq " + line.seq);
                }
                if (!chained) {
                    int nextEnd = end + 1 < b.length ? indexOf(b, end + 1) : -1;
                    Line next = nextEnd > 0 ? parse(b, end + 1, nextEnd) : null;
                    if (next != null && next.prev.equals(hash) && lastSegment != null) {
                        return new Finding(Kind.EDITED, lastSegment, lastLine, lastSeq,
                                "the record was changed: the next record's prev does not match its SHA-256");
                    }
                    return new Finding(Kind.EDITED, name, lineNo, line.seq,
                            "the record was changed: its prev does not match the SHA-256 of seq " + lastSeq);
                }
                Anchor anchor = options.anchor();
                if (anchor != null && anchor.seq() == line.seq && anchor.sha256() != null && !anchor.sha256().equals(hash)) {
                    return new Finding(Kind.ANCHOR_MISMATCH, name, lineNo, line.seq, "the record's SHA-256 is " + hash
                            + ", expected the anchor's " + anchor.sha256() + ": the trail was changed or rewritten up to here");
                }
                if (line.isCheckpoint()) {
                    Finding f = checkpoint(name, lineNo, line);
                    if (f != null) {
                        return f;
                    }
                    lastCheckpoint = new Anchor(line.seq, hash);
                    if ("rotation".equals(line.reason) && end + 1 < b.length) {
                        return new Finding(Kind.EDITED, name, lineNo + 1, line.seq + 1, "lines follow the rotation checkpoint that closed the segment");
                    }
                }
                records++;
                if (firstTime == null) {
                    firstTime = line.time;
                    gateway = line.gateway;
                }
                lastTime = line.time;
                lastSeq = line.seq;
                lastHash = hash;
                lastSegment = name;
                lastLine = lineNo;
                lastRecord = line;
                pos = end + 1;
            }
            if (lastSegment == null || !lastSegment.equals(name)) {
                lastSegment = name;
                lastLine = 0;
            }
            if (!lastSegmentFile && (line == null || !line.isCheckpoint() || !"rotation".equals(line.reason))) {
                return new Finding(Kind.TRUNCATED, name, lineNo + 1, lastSeq + 1,
                        "the segment ends after seq " + lastSeq + " without its rotation checkpoint: records at its end are missing");
            }
            return null;
        }

        private @Nullable Finding checkpoint(String name, long lineNo, Line c) {
            checkpoints++;
            if (c.records < 0 || c.head == null || c.keyId == null || c.sig == null || c.segment == null || c.reason == null || c.gateway == null) {
                return new Finding(Kind.EDITED, name, lineNo, c.seq, "the checkpoint lacks records, head, segment, reason, keyId or sig");
            }
            if (!c.keyId.equals(keyId)) {
                return new Finding(Kind.WRONG_KEY, name, lineNo, c.seq,
                        "the checkpoint is signed by key " + c.keyId + ", expected the audit key " + keyId);
            }
            if (c.records != c.seq - 1 || !c.head.equals(c.prev) || !c.segment.equals(name)) {
                return new Finding(Kind.EDITED, name, lineNo, c.seq, "the checkpoint's records/head/segment (" + c.records + ", "
                        + c.head + ", " + c.segment + ") do not match its place (" + (c.seq - 1) + ", " + c.prev + ", " + name + ")");
            }
            try {
                Signature s = Signature.getInstance("SHA256withECDSA");
                s.initVerify(key);
                s.update(TrailFormat.checkpointMessage(c.gateway, c.seq, c.time, c.records, c.head));
                if (!s.verify(Base64.getDecoder().decode(c.sig))) {
                    return new Finding(Kind.BAD_SIGNATURE, name, lineNo, c.seq, "the checkpoint signature does not verify with the audit key " + keyId);
                }
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                return new Finding(Kind.BAD_SIGNATURE, name, lineNo, c.seq, "the checkpoint signature is malformed: " + e.getMessage());
            }
            lastCheckpointSeq = c.seq;
            return null;
        }

        private String hash(byte[] b, int from, int to) {
            sha.update(b, from, to - from);
            return TrailFormat.hex(sha.digest());
        }
    }

    /**
     * A record's time, or null when it is not an instant: only its shape is checked while reading,
     * and an edited time ({@code :026-11-30T…}) must end as the edit found, not as an exception.
     */
    private static @Nullable Instant instant(@Nullable String time) {
        try {
            return time == null ? null : Instant.parse(time);
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    /** Reads the fields the verifier needs; null when the line is not a JSON object with seq, time, type and prev. */
    private static @Nullable Line parse(byte[] b, int from, int to) {
        if (to <= from || b[from] != '{') {
            return null;
        }
        Line l = new Line();
        try (JsonParser p = JSON.createParser(b, from, to - from)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "seq" -> l.seq = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
                    case "time" -> l.time = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "type" -> l.type = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "gateway" -> l.gateway = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "prev" -> l.prev = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "records" -> l.records = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
                    case "head" -> l.head = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "segment" -> l.segment = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "reason" -> l.reason = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "keyId" -> l.keyId = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "sig" -> l.sig = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    default -> p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        if (l.seq < 1 || l.time == null || l.type == null || l.prev == null || l.prev.length() != 64) {
            return null;
        }
        if (l.time.length() != 24 || l.time.charAt(10) != 'T' || l.time.charAt(23) != 'Z') {
            return null; // the shape of 2026-11-30T03:26:58.120Z; a shape that is no instant (2026-11-31T…) is instant()'s null
        }
        return l;
    }

    private static int indexOf(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

}
