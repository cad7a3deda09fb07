package org.postern.audit.trail;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;

/**
 * A trail that short-lived processes take turns writing, such as the {@code postern pki} commands
 * (each run is its own process, and {@code pki serve} runs beside them). Each record opens the
 * {@link AuditTrail} (waiting for its lock, {@code trail.lock}, while another process holds it),
 * appends the record durably, seals it with a signed {@code shutdown} checkpoint, and closes, so
 * the lock is held only for one record and the trail is never left unsealed.
 */
public final class SharedAuditTrail implements AuditSink {
    /** How long a record waits for another process to finish its own. */
    public static final Duration DEFAULT_LOCK_WAIT = Duration.ofSeconds(10);

    private final Path dir;
    private final AuditTrailConfig config;
    private final AuditKeys keys;
    private final Duration lockWait;
    private final Consumer<AuditTrail.LockedException> onBusy;

    public SharedAuditTrail(Path dir, String writer, AuditKeys keys) {
        this(dir, AuditTrailConfig.defaults(writer).withTickEvery(Duration.ZERO), keys, DEFAULT_LOCK_WAIT);
    }

    public SharedAuditTrail(Path dir, AuditTrailConfig config, AuditKeys keys, Duration lockWait) {
        this(dir, config, keys, lockWait, busy -> { });
    }

    /** @param onBusy told each time the lock was found held by another writer, before waiting for it */
    SharedAuditTrail(Path dir, AuditTrailConfig config, AuditKeys keys, Duration lockWait,
                     Consumer<AuditTrail.LockedException> onBusy) {
        this.onBusy = onBusy;
        this.dir = dir.toAbsolutePath();
        this.config = config;
        this.keys = keys;
        this.lockWait = lockWait;
    }

    public Path directory() {
        return dir;
    }

    /** Appends the event and seals it; returns once both are durable. */
    @Override
    public synchronized void record(AuditEvent event) {
        long deadline = System.nanoTime() + lockWait.toNanos();
        while (true) {
            AuditTrail trail;
            try {
                trail = new AuditTrail(dir, config, keys);
            } catch (AuditTrail.LockedException e) {
                onBusy.accept(e);
                if (System.nanoTime() > deadline) {
                    throw new AuditUnavailableException("audit.unavailable: " + e.getMessage() + "; waited "
                            + lockWait.toSeconds() + " s for it", e);
                }
                LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
                continue;
            } catch (IOException e) {
                throw new AuditUnavailableException("audit.unavailable: cannot open the audit trail " + dir + ": "
                        + e.getMessage(), e);
            }
            try (trail) {
                trail.record(event);
            }
            return;
        }
    }
}
