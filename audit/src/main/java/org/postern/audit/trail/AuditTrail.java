package org.postern.audit.trail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tamper-evident audit trail: hash-chained JSON-lines segments with signed checkpoints
 * (format in docs/audit.md). One writer thread takes everything queued since its last
 * {@code fsync}, appends it in one write, forces it once, and only then lets the callers go:
 * {@link #record} returns when its record is durable, and concurrent callers share the fsync.
 *
 * <p>Fail closed: when a write, an fsync or the free-space floor fails, {@link #record} throws
 * {@link AuditUnavailableException} ({@code audit.unavailable: …}) and {@link #available()} is
 * false. Records of a failed batch are rolled back (the segment is truncated to its last durable
 * size) so the chain stays whole; every later record or {@link #tick()} tries again, and the
 * trail resumes by itself once writing works.
 */
public final class AuditTrail implements AuditSink {
    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BATCH = 8192;

    private final Path dir;
    private final AuditTrailConfig config;
    private final AuditKeys keys;
    private final String keyId;
    private final Clock clock;
    private final ToLongFunction<Path> freeSpace;
    private final String gatewayJson;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private final ScheduledExecutorService ticker;
    private volatile String unavailable;
    private volatile long durableSeq;        // the last record known to be on disk (fsync'd)
    private final FileChannel lockChannel;   // holds the exclusive lock on DIR/trail.lock while open
    private volatile boolean closing;
    private volatile boolean stopped;

    // Writer-thread state: the segment being written and the chain head.
    private FileChannel channel;             // null while broken, reopened on the next attempt
    private long segmentNumber;
    private long segmentSize;                // bytes written or buffered into the segment
    private Instant segmentStarted;          // time of its first record, null while it has none
    private long seq;                        // last record written
    private String prev;                     // hash of the last record's line
    private Instant lastCheckpoint;
    private final ByteArrayBuffer buffer = new ByteArrayBuffer();
    private final java.security.MessageDigest sha = TrailFormat.sha256();
    // The same, as of the last successful fsync: what a failure rolls back to.
    private long goodSegmentNumber;
    private long goodSize;
    private Instant goodSegmentStarted;
    private long goodSeq;
    private String goodPrev;
    private Instant goodCheckpoint;

    /** Opens (or creates) the trail in {@code dir} with the real clock and the file system's free space. */
    public AuditTrail(Path dir, AuditTrailConfig config, AuditKeys keys) throws IOException {
        this(dir, config, keys, Clock.systemUTC(), AuditTrail::usableSpace);
    }

    /**
     * @param clock     time of checkpoints, rotation by age and torn-tail file names
     * @param freeSpace bytes free for {@code dir} (checked against {@code minFreeBytes} before every batch)
     */
    public AuditTrail(Path dir, AuditTrailConfig config, AuditKeys keys, Clock clock, ToLongFunction<Path> freeSpace) throws IOException {
        this.dir = dir.toAbsolutePath();
        this.config = config;
        this.keys = keys;
        this.keyId = keys.keyId();
        this.clock = clock;
        this.freeSpace = freeSpace;
        this.gatewayJson = JSON.writeValueAsString(config.gateway());
        Files.createDirectories(this.dir);
        this.lockChannel = lock(this.dir);
        TornTail torn;
        try {
            torn = openExisting();
        } catch (IOException | RuntimeException e) {
            lockChannel.close();
            throw e;
        }
        commit();
        durableSeq = seq;
        writer = Thread.ofPlatform().name("audit-writer").daemon(true).unstarted(this::runWriter);
        writer.start();
        if (torn != null) {
            record(AuditEvent.of(TrailFormat.TORN_TAIL_TYPE, clock.instant())
                    .with("segment", torn.segment).with("bytes", torn.bytes).with("sha256", torn.sha256).build());
        }
        if (config.tickEvery().isPositive()) {
            ticker = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("audit-tick").daemon(true).unstarted(r));
            long ms = config.tickEvery().toMillis();
            ticker.scheduleWithFixedDelay(() -> {
                try {
                    tick();
                } catch (RuntimeException e) {
                    // already logged by the writer; the next tick tries again
                }
            }, ms, ms, TimeUnit.MILLISECONDS);
        } else {
            ticker = null;
        }
    }

    /** Appends the event and returns once it is durable. */
    @Override
    public void record(AuditEvent event) {
        append(event);
    }

    /** Like {@link #record}, and tells the record's {@code seq}. */
    public long append(AuditEvent event) {
        String body;
        try {
            String json = JSON.writeValueAsString(event.fields());
            body = json.substring(1, json.length() - 1);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("audit event " + event.type() + " has a field that is not JSON-serialisable: " + e.getMessage(), e);
        }
        return submit(new Append(event.type(), TrailFormat.time(event.time()), body, new CompletableFuture<>()));
    }

    /**
     * Writes what is due now: a rotation when the segment is too old, an interval checkpoint when
     * {@code checkpointInterval} has passed since the last one (also when nothing happened), and
     * a retry when the trail is unavailable. Called by the background ticker, or by tests.
     */
    public void tick() {
        submit(new Tick(new CompletableFuture<>()));
    }

    /** Whether the last attempt to write succeeded. */
    public boolean available() {
        return unavailable == null;
    }

    /** Why the trail is unavailable ({@code audit.unavailable: …}), or null when it is available. */
    public String unavailableReason() {
        return unavailable;
    }

    /** Records waiting for the writer now (metrics: {@code postern_audit_queue_depth}). */
    public int queueDepth() {
        return queue.size();
    }

    public Path directory() {
        return dir;
    }

    /**
     * The {@code seq} of the last record that is durable (forced to disk): readers such as the SIEM
     * forwarder take only records up to it, never a line a failed batch may still roll back.
     */
    public long durableSeq() {
        return durableSeq;
    }

    /** The lock file that keeps a second writer (another process or trail object) out of {@code dir}. */
    public static final String LOCK_FILE = "trail.lock";

    /** Another writer holds the trail's lock: a trail has exactly one writer. */
    public static final class LockedException extends IOException {
        LockedException(String message) {
            super(message);
        }
    }

    private static FileChannel lock(Path dir) throws IOException {
        Path file = dir.resolve(LOCK_FILE);
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
            throw new LockedException("audit trail " + dir + " is being written by another writer (" + file
                    + " is locked); expected one writer per trail directory");
        }
        return ch;
    }

    /** Writes a shutdown checkpoint and stops the writer. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        if (ticker != null) {
            ticker.shutdownNow();
        }
        Shutdown s = new Shutdown(new CompletableFuture<>());
        queue.add(s);
        try {
            await(s.done);
        } finally {
            try {
                writer.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private long submit(Job job) {
        if (closing || stopped) {
            throw new AuditUnavailableException("audit.unavailable: the audit trail in " + dir + " is closed", null);
        }
        queue.add(job);
        if (stopped && queue.remove(job)) { // the writer stopped after our check: nobody else will answer
            throw new AuditUnavailableException("audit.unavailable: the audit trail in " + dir + " is closed", null);
        }
        return await(job.done());
    }

    private static long await(CompletableFuture<Long> done) {
        try {
            return done.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuditUnavailableException u) {
                throw u;
            }
            throw new AuditUnavailableException("audit.unavailable: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuditUnavailableException("audit.unavailable: interrupted while waiting for the audit record to be durable", e);
        }
    }

    // ---- the writer thread ----

    private sealed interface Job permits Append, Tick, Shutdown {
        CompletableFuture<Long> done();
    }

    private record Append(String type, String time, String body, CompletableFuture<Long> done) implements Job {
    }

    private record Tick(CompletableFuture<Long> done) implements Job {
    }

    private record Shutdown(CompletableFuture<Long> done) implements Job {
    }

    /** An IOException the trail raises itself (free-space floor), with the reason as message. */
    private static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    private void runWriter() {
        List<Job> batch = new ArrayList<>();
        long[] seqs = new long[MAX_BATCH];
        boolean shutdown = false;
        while (!shutdown) {
            batch.clear();
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                break;
            }
            queue.drainTo(batch, MAX_BATCH - 1);
            try {
                ensureWritable();
                for (int i = 0; i < batch.size(); i++) {
                    switch (batch.get(i)) {
                        case Append a -> {
                            rotateIfDue();
                            seqs[i] = appendLine(a.type(), a.time(), a.body());
                        }
                        case Tick t -> {
                            rotateIfDue();
                            if (!clock.instant().isBefore(lastCheckpoint.plus(config.checkpointInterval()))) {
                                checkpoint("interval");
                            }
                        }
                        case Shutdown s -> {
                            checkpoint("shutdown");
                            shutdown = true;
                        }
                    }
                }
                flush();
                channel.force(false);
                commit();
                durableSeq = seq;
                if (unavailable != null) {
                    log.warn("audit trail in {} is writable again (it was: {})", dir, unavailable);
                    unavailable = null;
                }
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).done().complete(seqs[i]);
                }
            } catch (IOException | RuntimeException e) {
                String reason = "audit.unavailable: " + describe(e);
                if (!reason.equals(unavailable)) {
                    log.error("{} — refusing audit records until writing works again", reason, e);
                }
                unavailable = reason;
                rollback();
                AuditUnavailableException failure = new AuditUnavailableException(reason, e);
                for (Job j : batch) {
                    j.done().completeExceptionally(failure);
                    shutdown |= j instanceof Shutdown;
                }
            }
        }
        closeChannel();
        try {
            lockChannel.close(); // releases the lock
        } catch (IOException e) {
            log.warn("cannot release the lock of {}: {}", dir, e.toString());
        }
        stopped = true;
        for (Job j; (j = queue.poll()) != null; ) {
            j.done().completeExceptionally(new AuditUnavailableException("audit.unavailable: the audit trail in " + dir + " is closed", null));
        }
    }

    private String describe(Throwable e) {
        if (e instanceof Refused) {
            return e.getMessage();
        }
        String what = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return "cannot write the audit trail " + segmentPath(segmentNumber) + ": " + what;
    }

    private void ensureWritable() throws IOException {
        long free = freeSpace.applyAsLong(dir);
        if (free < config.minFreeBytes()) {
            throw new Refused("free space for " + dir + " is " + mib(free) + ", below the floor of "
                    + mib(config.minFreeBytes()) + " (audit.minFreeBytes)");
        }
        if (channel == null) {
            // After a failure: back to the last durable state, then try again.
            FileChannel ch = FileChannel.open(segmentPath(segmentNumber), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                ch.truncate(goodSize);
                ch.position(goodSize);
                ch.force(true);
                forceDirectory();
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            channel = ch;
        }
    }

    private void rotateIfDue() throws IOException {
        if (segmentStarted == null) {
            return; // an empty segment never rotates
        }
        boolean bySize = segmentSize >= config.maxSegmentBytes();
        boolean byAge = !clock.instant().isBefore(segmentStarted.plus(config.maxSegmentAge()));
        if (bySize || byAge) {
            rotate();
        }
    }

    /**
     * Creates the next segment first, so a rotation checkpoint on disk always has its successor;
     * then seals the closing segment with the checkpoint as its last line and forces it.
     */
    private void rotate() throws IOException {
        Path next = segmentPath(segmentNumber + 1);
        FileChannel nextChannel = FileChannel.open(next, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        try {
            forceDirectory();
            checkpoint("rotation");
            flush();
            channel.force(false);
        } catch (IOException | RuntimeException e) {
            nextChannel.close();
            throw e;
        }
        channel.close();
        channel = nextChannel;
        segmentNumber++;
        segmentSize = 0;
        segmentStarted = null;
        commit(); // everything before is durable; a later failure rolls back to the fresh segment
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

    private void checkpoint(String reason) {
        Instant now = clock.instant();
        String time = TrailFormat.time(now);
        long next = seq + 1;
        String sig = Base64.getEncoder().encodeToString(keys.sign(TrailFormat.checkpointMessage(config.gateway(), next, time, seq, prev)));
        String body = "\"records\":" + seq + ",\"head\":\"" + prev + "\",\"segment\":\"" + TrailFormat.segmentName(segmentNumber)
                + "\",\"reason\":\"" + reason + "\",\"keyId\":\"" + keyId + "\",\"sig\":\"" + sig + "\"";
        appendLine(TrailFormat.CHECKPOINT_TYPE, time, body);
        lastCheckpoint = now;
    }

    private long appendLine(String type, String time, String body) {
        long s = seq + 1;
        int start = buffer.size();
        buffer.ascii("{\"seq\":").ascii(Long.toString(s)).ascii(",\"time\":\"").ascii(time)
                .ascii("\",\"type\":\"").ascii(type).ascii("\",\"gateway\":").utf8(gatewayJson);
        if (!body.isEmpty()) {
            buffer.ascii(",").utf8(body);
        }
        buffer.ascii(",\"prev\":\"").ascii(prev).ascii("\"}");
        int end = buffer.size();
        sha.update(buffer.array(), start, end - start);
        buffer.ascii("\n");
        prev = TrailFormat.hex(sha.digest());
        seq = s;
        segmentSize += end - start + 1;
        if (segmentStarted == null) {
            segmentStarted = Instant.parse(time);
        }
        return s;
    }

    private void flush() throws IOException {
        ByteBuffer b = ByteBuffer.wrap(buffer.array(), 0, buffer.size());
        buffer.reset();
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private void commit() {
        goodSegmentNumber = segmentNumber;
        goodSize = segmentSize;
        goodSegmentStarted = segmentStarted;
        goodSeq = seq;
        goodPrev = prev;
        goodCheckpoint = lastCheckpoint;
    }

    private void rollback() {
        buffer.reset();
        closeChannel();
        segmentNumber = goodSegmentNumber;
        segmentSize = goodSize;
        segmentStarted = goodSegmentStarted;
        seq = goodSeq;
        prev = goodPrev;
        lastCheckpoint = goodCheckpoint;
    }

    private void closeChannel() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                log.warn("cannot close {}: {}", segmentPath(segmentNumber), e.toString());
            }
            channel = null;
        }
    }

    private void forceDirectory() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private Path segmentPath(long number) {
        return dir.resolve(TrailFormat.segmentName(number));
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) AuditTrailConfig.MIB);
    }

    private static long usableSpace(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read free space for " + dir + ": " + e.getMessage(), e);
        }
    }

    // ---- opening ----

    private record TornTail(String segment, long bytes, String sha256) {
    }

    /** Finds the chain head; moves a torn last line aside. Runs before the writer starts. */
    private TornTail openExisting() throws IOException {
        long last = 0;
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                last = Math.max(last, TrailFormat.segmentNumber(p.getFileName().toString()));
            }
        }
        seq = 0;
        prev = TrailFormat.GENESIS;
        lastCheckpoint = clock.instant();
        if (last == 0) {
            segmentNumber = 1;
            channel = FileChannel.open(segmentPath(1), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            forceDirectory();
            return null;
        }
        // A crash in rotate() after the successor was created but before the rotation checkpoint
        // reached the closing segment leaves an empty successor behind an unsealed segment: drop
        // the empty file and go on writing the unsealed one, so the chain stays as the verifier expects.
        if (last > 1 && Files.size(segmentPath(last)) == 0 && !endsWithRotation(segmentPath(last - 1))) {
            Files.delete(segmentPath(last));
            forceDirectory();
            log.warn("audit segment {} was created by a rotation that did not complete; removed it", segmentPath(last));
            last--;
        }
        segmentNumber = last;
        Path path = segmentPath(last);
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
            forceDirectory();
            torn = new TornTail(path.getFileName().toString(), bytes.length - good, TrailFormat.sha256Hex(bytes, good, bytes.length - good));
            log.warn("audit segment {} ended with a torn line of {} bytes; moved it to {}", path, bytes.length - good, aside);
        }
        segmentSize = good;
        // The chain head: the last line of this segment, or of the closest earlier one that has lines.
        byte[] headBytes = bytes;
        int headEnd = good;
        long headSegment = last;
        while (headEnd == 0 && headSegment > 1) {
            headSegment--;
            Path earlier = segmentPath(headSegment);
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
            lastCheckpoint = lastCheckpointTime(headBytes, headEnd);
        }
        if (good > 0) {
            JsonNode first = parse(bytes, 0, indexOf(bytes, 0));
            segmentStarted = first != null ? Instant.parse(first.path("time").asText()) : clock.instant();
        }
        channel = FileChannel.open(path, StandardOpenOption.WRITE);
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
                channel = FileChannel.open(segmentPath(segmentNumber), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                forceDirectory();
            }
        }
        return torn;
    }

    private Instant lastCheckpointTime(byte[] bytes, int end) {
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

    private static JsonNode parse(byte[] bytes, int from, int to) {
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

    /** A growable byte array the writer reuses for each batch. */
    private static final class ByteArrayBuffer {
        private byte[] bytes = new byte[1 << 16];
        private int size;

        ByteArrayBuffer ascii(String s) {
            int n = s.length();
            ensure(n);
            for (int i = 0; i < n; i++) {
                bytes[size++] = (byte) s.charAt(i);
            }
            return this;
        }

        ByteArrayBuffer utf8(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            ensure(b.length);
            System.arraycopy(b, 0, bytes, size, b.length);
            size += b.length;
            return this;
        }

        private void ensure(int n) {
            if (size + n > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
            }
        }

        byte[] array() {
            return bytes;
        }

        int size() {
            return size;
        }

        void reset() {
            size = 0;
        }
    }

}
