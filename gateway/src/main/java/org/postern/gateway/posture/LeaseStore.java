package org.postern.gateway.posture;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * The live posture leases, one per device: a Caffeine cache keyed by device id whose entries
 * expire exactly at their lease's end ({@link Expiry}). When a lease goes — expired unrenewed,
 * ended by a non-compliant renewal, replaced by a renewal, or evicted — the {@link Listener} hears
 * why, so the session layer can close the device's flows. Thread-safe.
 *
 * <p>Caffeine removes expired entries during cache activity; give it a {@link Scheduler}
 * ({@link Scheduler#systemScheduler()} in production) so an expiry is noticed promptly on a quiet
 * gateway. {@link #current} checks the end time itself, so a lease never outlives it for a reader.
 */
public final class LeaseStore {

    public static final long DEFAULT_MAX_SIZE = 100_000;

    /** Why a lease left the store. */
    public enum End {
        /** Its time ran out without a renewal. */
        EXPIRED,
        /** A renewal replaced it; the device keeps its access under the new lease. */
        RENEWED,
        /** Ended on purpose: a renewal was non-compliant under enforcement, or the device was barred. */
        ENDED,
        /** The store was full (more devices than its bound). */
        EVICTED
    }

    /** Hears of leases leaving the store; called on a Caffeine maintenance thread, must not block long. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = (lease, end) -> {
        };

        void leaseGone(Lease lease, End end);
    }

    private final Clock clock;
    private final Cache<String, Lease> leases;

    /** The production store: system ticker and scheduler, {@link #DEFAULT_MAX_SIZE}. */
    public LeaseStore(Clock clock, Listener listener) {
        this(clock, Ticker.systemTicker(), Scheduler.systemScheduler(), DEFAULT_MAX_SIZE, listener);
    }

    public LeaseStore(Clock clock, Ticker ticker, Scheduler scheduler, long maxSize, Listener listener) {
        this.clock = Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(listener, "listener");
        this.leases = Caffeine.newBuilder()
                .ticker(Objects.requireNonNull(ticker, "ticker"))
                .scheduler(Objects.requireNonNull(scheduler, "scheduler"))
                .executor(Runnable::run)
                .maximumSize(maxSize)
                .expireAfter(new UntilLeaseEnd())
                .<String, Lease>removalListener((id, lease, cause) -> {
                    if (lease != null) {
                        listener.leaseGone(lease, end(cause));
                    }
                })
                .build();
    }

    /** The device's lease, if one is live now. */
    public Optional<Lease> current(String deviceId) {
        Lease lease = leases.getIfPresent(deviceId);
        return lease != null && lease.liveAt(clock.instant()) ? Optional.of(lease) : Optional.empty();
    }

    /** Stores a lease, replacing the device's previous one (which is reported {@link End#RENEWED}). */
    public void put(Lease lease) {
        leases.put(lease.deviceId(), lease);
    }

    /** Ends the device's lease now, if it has one ({@link End#ENDED}). */
    public void end(String deviceId) {
        leases.invalidate(deviceId);
    }

    /** Performs pending expiry and notification now (tests, and after a clock jump). */
    public void cleanUp() {
        leases.cleanUp();
    }

    /** Live leases, approximately (for metrics). */
    public long size() {
        return leases.estimatedSize();
    }

    private static End end(RemovalCause cause) {
        return switch (cause) {
            case EXPIRED -> End.EXPIRED;
            case REPLACED -> End.RENEWED;
            case EXPLICIT -> End.ENDED;
            case SIZE, COLLECTED -> End.EVICTED;
        };
    }

    /** Each entry lives until its lease's end, measured from the clock at the time of writing. */
    private final class UntilLeaseEnd implements Expiry<String, Lease> {
        @Override
        public long expireAfterCreate(String key, Lease lease, long currentTime) {
            return remaining(lease);
        }

        @Override
        public long expireAfterUpdate(String key, Lease lease, long currentTime, long currentDuration) {
            return remaining(lease);
        }

        @Override
        public long expireAfterRead(String key, Lease lease, long currentTime, long currentDuration) {
            return currentDuration;
        }

        private long remaining(Lease lease) {
            Duration left = Duration.between(clock.instant(), lease.until());
            return left.isNegative() ? 0 : saturatedNanos(left);
        }

        private static long saturatedNanos(Duration d) {
            try {
                return d.toNanos();
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
        }
    }
}
