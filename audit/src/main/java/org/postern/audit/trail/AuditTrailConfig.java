package org.postern.audit.trail;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of the audit trail, with their units and defaults ({@link #defaults(String)}).
 *
 * @param gateway            who writes the trail, the {@code gateway} field of every record
 * @param maxSegmentBytes    rotate when a segment reaches this size (default 64 MiB)
 * @param maxSegmentAge      rotate when a segment's first record is this old (default 1 day)
 * @param checkpointInterval write a signed checkpoint this often, also when nothing happened (default 60 s)
 * @param minFreeBytes       refuse records while the file system has less free space than this (default 64 MiB)
 * @param tickEvery          how often a background thread looks for due checkpoints and rotations;
 *                           {@link Duration#ZERO} means never (tests call {@link AuditTrail#tick()})
 * @param maxDeferred        records {@link AuditTrail#recordOrDefer} keeps in memory while the trail is
 *                           unavailable (default 10,000); more are counted and the count recorded
 */
public record AuditTrailConfig(String gateway, long maxSegmentBytes, Duration maxSegmentAge,
                               Duration checkpointInterval, long minFreeBytes, Duration tickEvery, int maxDeferred) {

    /** Records kept for a trail that cannot be written, by default: about 5 MB of session and flow ends. */
    public static final int DEFAULT_MAX_DEFERRED = 10_000;

    public static final long MIB = 1024 * 1024;

    public AuditTrailConfig {
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(maxSegmentAge, "maxSegmentAge");
        Objects.requireNonNull(checkpointInterval, "checkpointInterval");
        Objects.requireNonNull(tickEvery, "tickEvery");
        if (gateway.isBlank() || gateway.contains("|")) {
            throw new IllegalArgumentException("audit.gateway: expected a non-empty id without '|', found \"" + gateway + "\"");
        }
        if (maxSegmentBytes < 4096) {
            throw new IllegalArgumentException("audit.maxSegmentBytes: expected at least 4096, found " + maxSegmentBytes);
        }
        if (maxSegmentAge.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("audit.maxSegmentAge: expected at least 1s, found " + maxSegmentAge);
        }
        if (checkpointInterval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("audit.checkpointInterval: expected at least 1s, found " + checkpointInterval);
        }
        if (minFreeBytes < 0) {
            throw new IllegalArgumentException("audit.minFreeBytes: expected 0 or more bytes, found " + minFreeBytes);
        }
        if (tickEvery.isNegative()) {
            throw new IllegalArgumentException("audit.tickEvery: expected a positive duration or 0 (off), found " + tickEvery);
        }
        if (maxDeferred < 0) {
            throw new IllegalArgumentException("audit.maxDeferred: expected 0 or more records, found " + maxDeferred);
        }
    }

    public static AuditTrailConfig defaults(String gateway) {
        return new AuditTrailConfig(gateway, 64 * MIB, Duration.ofDays(1), Duration.ofSeconds(60), 64 * MIB, Duration.ofSeconds(1),
                DEFAULT_MAX_DEFERRED);
    }

    public AuditTrailConfig withMaxSegmentBytes(long bytes) {
        return new AuditTrailConfig(gateway, bytes, maxSegmentAge, checkpointInterval, minFreeBytes, tickEvery, maxDeferred);
    }

    public AuditTrailConfig withMaxSegmentAge(Duration age) {
        return new AuditTrailConfig(gateway, maxSegmentBytes, age, checkpointInterval, minFreeBytes, tickEvery, maxDeferred);
    }

    public AuditTrailConfig withCheckpointInterval(Duration interval) {
        return new AuditTrailConfig(gateway, maxSegmentBytes, maxSegmentAge, interval, minFreeBytes, tickEvery, maxDeferred);
    }

    public AuditTrailConfig withMinFreeBytes(long bytes) {
        return new AuditTrailConfig(gateway, maxSegmentBytes, maxSegmentAge, checkpointInterval, bytes, tickEvery, maxDeferred);
    }

    public AuditTrailConfig withTickEvery(Duration every) {
        return new AuditTrailConfig(gateway, maxSegmentBytes, maxSegmentAge, checkpointInterval, minFreeBytes, every, maxDeferred);
    }

    public AuditTrailConfig withMaxDeferred(int records) {
        return new AuditTrailConfig(gateway, maxSegmentBytes, maxSegmentAge, checkpointInterval, minFreeBytes, tickEvery, records);
    }
}
