package org.postern.audit.trail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jspecify.annotations.Nullable;
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
 *
 * <p>Records of what has already happened ({@link #recordOrDefer}: a session or flow that ended)
 * are not refused: while the trail is unavailable they are kept in memory, up to
 * {@code maxDeferred}, and written first, in order and with their own times, by the next batch that
 * succeeds (a record or a tick). Those beyond the bound are counted, and the count is written then
 * as {@code audit.dropped}.
 */
public final class AuditTrail implements AuditSink {
    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BATCH = 8192;
    /** What {@link Job#done()} completes with for a deferrable record that was kept, or dropped over the bound. */
    private static final long DEFERRED = -1;
    private static final long DROPPED = -2;
    /** The type of the record that counts deferrable records dropped over {@code maxDeferred}. */
    public static final String DROPPED_TYPE = "audit.dropped";

    private final Path dir;
    private final AuditTrailConfig config;
    private final AuditKeys keys;
    private final String keyId;
    private final Clock clock;
    private final ToLongFunction<Path> freeSpace;
    private final String gatewayJson;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private final @Nullable ScheduledExecutorService ticker;
    private volatile @Nullable String unavailable;
    private volatile long durableSeq;        // the last record known to be on disk (fsync'd)
    private final FileChannel lockChannel;   // holds the exclusive lock on DIR/trail.lock while open
    private volatile boolean closing;
    private volatile boolean stopped;

    // Writer-thread state: the segment being written and the chain head.
    private @Nullable FileChannel channel;  // null while broken, reopened on the next attempt
    private long segmentNumber;
    private long segmentSize;                // bytes written or buffered into the segment
    private @Nullable Instant segmentStarted;  // time of its first record, null while it has none
    private long seq;                        // last record written
    private String prev;                     // hash of the last record's line
    private Instant lastCheckpoint;
    private final ByteArrayBuffer buffer = new ByteArrayBuffer();
    private final java.security.MessageDigest sha = TrailFormat.sha256();
    private final java.util.ArrayDeque<Append> deferred = new java.util.ArrayDeque<>(); // kept while unavailable, oldest first
    private long dropped;                    // deferrable records dropped over the bound since the last success
    private @Nullable Instant droppedFirst;  // their times, first and last
    private @Nullable Instant droppedLast;
    private @Nullable String droppedReason;  // the outage they were dropped in
    private volatile int deferredCount;      // deferred.size(), for readers
    private volatile long droppedTotal;      // dropped over the life of this object, for readers
    private TrailPosition good;              // the same, as of the last successful fsync: what a failure rolls back to

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
        TrailRecovery.Opened opened = TrailRecovery.open(this.dir, clock);
        this.lockChannel = opened.lock();
        channel = opened.channel();
        moveTo(opened.position());
        commit();
        TrailRecovery.TornTail torn = opened.torn();
        durableSeq = seq;
        writer = Thread.ofPlatform().name("audit-writer").daemon(true).unstarted(this::runWriter);
        writer.start();
        if (torn != null) {
            record(AuditEvent.of(TrailFormat.TORN_TAIL_TYPE, clock.instant())
                    .with("segment", torn.segment()).with("bytes", torn.bytes()).with("sha256", torn.sha256()).build());
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
        return submit(new Append(event.type(), TrailFormat.time(event.time()), body(event), false, new CompletableFuture<>()));
    }

    /**
     * Records what has already happened (a session or flow that ended): durably now when the trail
     * can be written; otherwise kept in memory and written ahead of anything else, with the event's
     * own time, once writing works again. Over {@code maxDeferred} kept records it is dropped and
     * counted ({@code audit.dropped}). Throws only when the trail is closed.
     *
     * @return true when the record is durable, false when it was kept (or dropped) for later
     */
    @Override
    public boolean recordOrDefer(AuditEvent event) {
        return submit(new Append(event.type(), TrailFormat.time(event.time()), body(event), true, new CompletableFuture<>())) > 0;
    }

    private static String body(AuditEvent event) {
        try {
            String json = JSON.writeValueAsString(event.fields());
            return json.substring(1, json.length() - 1);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("audit event " + event.type() + " has a field that is not JSON-serialisable: " + e.getMessage(), e);
        }
    }

    /** Records kept by {@link #recordOrDefer} that wait for the trail to be writable again. */
    public int deferred() {
        return deferredCount;
    }

    /** Records {@link #recordOrDefer} dropped over the bound since this trail was opened (each counted in an {@code audit.dropped}). */
    public long droppedTotal() {
        return droppedTotal;
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
    public @Nullable String unavailableReason() {
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

    /** @param deferrable kept for a later batch rather than refused when this one fails ({@link #recordOrDefer}) */
    private record Append(String type, String time, String body, boolean deferrable, CompletableFuture<Long> done) implements Job {
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
                writeDeferred();
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
                    log.warn("audit trail in {} is writable again (it was: {}){}", dir, unavailable, deferred.isEmpty() && dropped == 0 ? ""
                            : "; wrote the " + deferred.size() + " records kept meanwhile" + (dropped > 0 ? " and the count of " + dropped + " dropped" : ""));
                    unavailable = null;
                }
                deferred.clear();
                deferredCount = 0;
                dropped = 0;
                droppedFirst = null;
                droppedLast = null;
                droppedReason = null;
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
                    if (j instanceof Append a && a.deferrable()) {
                        a.done().complete(defer(a, reason));
                    } else {
                        j.done().completeExceptionally(failure);
                    }
                    shutdown |= j instanceof Shutdown;
                }
            }
        }
        if (!deferred.isEmpty() || dropped > 0) {
            // Not written: no shutdown checkpoint either, so the next start sees an unclean stop and
            // closes what these records would have closed (docs/audit.md, "Outages and crashes").
            log.error("audit trail in {} closed while unavailable: {} kept records and the count of {} dropped were not written",
                    dir, deferred.size(), dropped);
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

    /** Keeps a deferrable record of a failed batch for the next one, or counts it over the bound. */
    private long defer(Append a, String reason) {
        if (deferred.size() < config.maxDeferred()) {
            deferred.add(a);
            deferredCount = deferred.size();
            if (deferred.size() == 1 || deferred.size() == config.maxDeferred()) {
                log.warn("{} {} kept to be written when the audit trail in {} is writable again (at most {})",
                        deferred.size(), deferred.size() == 1 ? "record" : "records", dir, config.maxDeferred());
            }
            return DEFERRED;
        }
        Instant t = Instant.parse(a.time());
        if (dropped == 0) {
            log.error("{}: more than {} records kept; dropping {} and counting the ones after it", reason, config.maxDeferred(), a.type());
            droppedFirst = t;
            droppedReason = reason;
        }
        dropped++;
        droppedTotal++;
        droppedLast = t;
        return DROPPED;
    }

    /** Writes the records kept while the trail was unavailable, and the count of those dropped, ahead of the batch. */
    private void writeDeferred() throws IOException {
        for (Append a : deferred) {
            rotateIfDue();
            appendLine(a.type(), a.time(), a.body());
        }
        if (dropped > 0) {
            rotateIfDue();
            String body = "\"count\":" + dropped + ",\"firstTime\":\"" + TrailFormat.time(droppedFirst)
                    + "\",\"lastTime\":\"" + TrailFormat.time(droppedLast) + "\",\"reason\":" + JSON.writeValueAsString(droppedReason);
            appendLine(DROPPED_TYPE, TrailFormat.time(clock.instant()), body);
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
                ch.truncate(good.segmentSize());
                ch.position(good.segmentSize());
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
        good = new TrailPosition(segmentNumber, segmentSize, segmentStarted, seq, prev, lastCheckpoint);
    }

    private void rollback() {
        buffer.reset();
        closeChannel();
        moveTo(good);
    }

    private void moveTo(TrailPosition p) {
        segmentNumber = p.segmentNumber();
        segmentSize = p.segmentSize();
        segmentStarted = p.segmentStarted();
        seq = p.seq();
        prev = p.prev();
        lastCheckpoint = p.lastCheckpoint();
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
        TrailRecovery.forceDirectory(dir);
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
}
