package org.postern.audit.trail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.postern.audit.AuditEvent;

/** A trail on a clock the test moves and a free-space figure the test sets. */
public final class TrailFixture {
    static final AuditKeys KEYS = AuditKeys.generate(new SecureRandom());
    static final AuditKeys OTHER_KEYS = AuditKeys.generate(new SecureRandom());

    final MutableClock clock = new MutableClock(Instant.parse("2026-11-30T03:00:00Z"));
    final AtomicLong freeBytes = new AtomicLong(Long.MAX_VALUE);

    static AuditTrailConfig config() {
        return AuditTrailConfig.defaults("gw-test").withTickEvery(Duration.ZERO);
    }

    AuditTrail open(Path dir, AuditTrailConfig config) throws IOException {
        return open(dir, config, KEYS);
    }

    AuditTrail open(Path dir, AuditTrailConfig config, AuditKeys keys) throws IOException {
        return new AuditTrail(dir, config, keys, clock, p -> freeBytes.get());
    }

    AuditEvent event(int i) {
        return AuditEvent.of("session.start", clock.instant())
                .with("session", "s-" + i).with("device", "laptop-" + (i % 7)).with("user", "alice")
                .with("source", "10.0.0." + (i % 250) + ":5" + i).build();
    }

    static List<String> lines(Path file) throws IOException {
        return new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    static void write(Path file, List<String> lines) throws IOException {
        Files.writeString(file, lines.isEmpty() ? "" : String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    }

    /** A clock the test moves; also used by the index tests. */
    public static final class MutableClock extends Clock {
        private volatile Instant now;

        public MutableClock(Instant start) {
            this.now = start;
        }

        public void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
