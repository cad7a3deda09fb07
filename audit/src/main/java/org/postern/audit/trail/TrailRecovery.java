package org.postern.audit.trail;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opening a trail after whatever ended the last writer, a crash included (docs/audit.md): finds
 * the chain head, moves a torn last line aside, drops the empty successor of a rotation that did
 * not complete, and starts the successor a completed rotation lost. Runs once, before the writer
 * thread starts; the writer then appends where this leaves it.
 */
final class TrailRecovery {
    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class); // the trail's log, as before the split
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A torn last line found on open and moved aside; the trail records it as its first event. */
    record TornTail(String segment, long bytes, String sha256) {
    }

    /**
     * The trail as found: the segment to append to, open and positioned at its end, and where
     * the chain stands.
     *
     * @param lock holds the exclusive lock on {@code DIR/trail.lock}; closing it releases the lock
     * @param torn the torn tail moved aside, or null if the last line was whole
     */
    record Opened(FileChannel lock, FileChannel channel, TrailPosition position, @Nullable TornTail torn) {
    }

    private TrailRecovery() {
    }

    /**
     * Takes the trail's lock, then finds the chain head in {@code dir} and moves a torn last line
     * aside. Releases the lock again if that fails.
     *
     * @throws AuditTrail.LockedException when another writer holds the lock
     */
    static Opened open(Path dir, Clock clock) throws IOException {
        FileChannel lock = lock(dir);
        try {
            return recover(dir, clock, lock);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static FileChannel lock(Path dir) throws IOException {
        Path file = dir.resolve(AuditTrail.LOCK_FILE);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        java.nio.channels.FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null; // held by another trail in this JVM
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            ch.close();
            throw new AuditTrail.LockedException("audit trail " + dir + " is being written by another writer (" + file
                    + " is locked); expected one writer per trail directory");
        }
        return ch;
    }

    private static Opened recover(Path dir, Clock clock, FileChannel lock) throws IOException {
        long last = 0;
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                last = Math.max(last, TrailFormat.segmentNumber(p.getFileName().toString()));
            }
        }
        long seq = 0;
        String prev = TrailFormat.GENESIS;
        Instant lastCheckpoint = clock.instant();
        if (last == 0) {
            FileChannel channel = FileChannel.open(segmentPath(dir, 1), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            forceDirectory(dir);
            return new Opened(lock, channel, new TrailPosition(1, 0, null, seq, prev, lastCheckpoint), null);
        }
        // A crash in rotate() after the successor was created but before the rotation checkpoint
        // reached the closing segment leaves an empty successor behind an unsealed segment: drop
        // the empty file and go on writing the unsealed one, so the chain stays as the verifier expects.
        if (last > 1 && Files.size(segmentPath(dir, last)) == 0 && !endsWithRotation(segmentPath(dir, last - 1))) {
            Files.delete(segmentPath(dir, last));
            forceDirectory(dir);
            log.warn("audit segment {} was created by a rotation that did not complete; removed it", segmentPath(dir, last));
            last--;
        }
        long segmentNumber = last;
        Path path = segmentPath(dir, last);
        byte[] bytes = Files.readAllBytes(path);
        int good = bytes.length;
        TornTail torn = null;
        int lastNl = lastIndexOf(bytes, bytes.length - 1);
        if (good > 0 && lastNl != good - 1) {
            good = lastNl + 1;                   // an incomplete last line
        } else if (good > 0 && parse(bytes, lastIndexOf(bytes, good - 2) + 1, good - 1) == null) {
            good = lastIndexOf(bytes, good - 2) + 1; // a complete last line that is not a record
        }
        if (good < bytes.length) {
            Path aside = dir.resolve(path.getFileName() + ".torn-" + clock.millis());
            Files.write(aside, java.util.Arrays.copyOfRange(bytes, good, bytes.length), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
                ch.truncate(good);
                ch.force(true);
            }
            forceDirectory(dir);
            torn = new TornTail(path.getFileName().toString(), bytes.length - good, TrailFormat.sha256Hex(bytes, good, bytes.length - good));
            log.warn("audit segment {} ended with a torn line of {} bytes; moved it to {}", path, bytes.length - good, aside);
        }
        long segmentSize = good;
        // The chain head: the last line of this segment, or of the closest earlier one that has lines.
        byte[] headBytes = bytes;
        int headEnd = good;
        long headSegment = last;
        while (headEnd == 0 && headSegment > 1) {
            headSegment--;
            Path earlier = segmentPath(dir, headSegment);
            if (!Files.exists(earlier)) {
                break;
            }
            headBytes = Files.readAllBytes(earlier);
            headEnd = headBytes.length > 0 && headBytes[headBytes.length - 1] == '\n' ? headBytes.length : lastIndexOf(headBytes, headBytes.length - 1) + 1;
        }
        if (headEnd > 0) {
            int start = lastIndexOf(headBytes, headEnd - 2) + 1;
            JsonNode head = parse(headBytes, start, headEnd - 1);
            if (head == null) {
                throw new IOException("audit trail " + dir + ": the last record of segment " + headSegment + " is not JSON; run postern audit verify");
            }
            seq = head.path("seq").asLong();
            prev = TrailFormat.sha256Hex(headBytes, start, headEnd - 1 - start);
            lastCheckpoint = lastCheckpointTime(headBytes, headEnd, clock);
        }
        Instant segmentStarted = null;
        if (good > 0) {
            JsonNode first = parse(bytes, 0, indexOf(bytes, 0));
            segmentStarted = first != null ? Instant.parse(first.path("time").asText()) : clock.instant();
        }
        FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE);
        channel.position(good);
        if (good > 0) {
            JsonNode lastRecord = parse(bytes, lastIndexOf(bytes, good - 2) + 1, good - 1);
            if (lastRecord != null && TrailFormat.CHECKPOINT_TYPE.equals(lastRecord.path("type").asText())
                    && "rotation".equals(lastRecord.path("reason").asText())) {
                // Sealed by a rotation whose successor was lost: start the successor now.
                channel.close();
                segmentNumber = last + 1;
                segmentSize = 0;
                segmentStarted = null;
                channel = FileChannel.open(segmentPath(dir, segmentNumber), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                forceDirectory(dir);
            }
        }
        return new Opened(lock, channel, new TrailPosition(segmentNumber, segmentSize, segmentStarted, seq, prev, lastCheckpoint), torn);
    }

    /** Makes the directory's entries (a created, deleted or renamed file) durable. */
    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static Path segmentPath(Path dir, long number) {
        return dir.resolve(TrailFormat.segmentName(number));
    }

    /** Whether a segment's last complete line is a rotation checkpoint. */
    private static boolean endsWithRotation(Path segment) throws IOException {
        byte[] b = Files.readAllBytes(segment);
        int end = b.length > 0 && b[b.length - 1] == '\n' ? b.length : lastIndexOf(b, b.length - 1) + 1;
        if (end == 0) {
            return false;
        }
        JsonNode last = parse(b, lastIndexOf(b, end - 2) + 1, end - 1);
        return last != null && TrailFormat.CHECKPOINT_TYPE.equals(last.path("type").asText())
                && "rotation".equals(last.path("reason").asText());
    }

    private static Instant lastCheckpointTime(byte[] bytes, int end, Clock clock) {
        byte[] marker = ("\"type\":\"" + TrailFormat.CHECKPOINT_TYPE + "\"").getBytes(StandardCharsets.US_ASCII);
        int lineEnd = end - 1;
        while (lineEnd > 0) {
            int start = lastIndexOf(bytes, lineEnd - 1) + 1;
            if (contains(bytes, start, lineEnd, marker)) {
                JsonNode n = parse(bytes, start, lineEnd);
                if (n != null) {
                    return Instant.parse(n.path("time").asText());
                }
            }
            lineEnd = start - 1;
        }
        return clock.instant();
    }

    private static @Nullable JsonNode parse(byte[] bytes, int from, int to) {
        if (to <= from) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(bytes, from, to - from);
            return n != null && n.isObject() && n.has("seq") && n.has("prev") ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static int lastIndexOf(byte[] b, int from) {
        for (int i = from; i >= 0; i--) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return b.length;
    }

    private static boolean contains(byte[] b, int from, int to, byte[] needle) {
        outer:
        for (int i = from; i <= to - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (b[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
