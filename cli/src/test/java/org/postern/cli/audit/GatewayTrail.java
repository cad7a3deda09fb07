package org.postern.cli.audit;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;

/**
 * One gateway's data directory as the gateway leaves it: {@code DATA/audit.key}, {@code DATA/audit.pub}
 * and {@code DATA/audit/trail} written by the real {@link AuditTrail}, signed, with interval checkpoints
 * (every 60 s of the trail's clock, which follows the events' times) and a shutdown checkpoint.
 */
final class GatewayTrail implements AutoCloseable {
    final Path data;
    final Path trail;
    private final SettableClock clock;
    private final AuditTrail writer;

    /** Opens the trail of {@code gateway} under {@code data}, its clock at {@code start}. */
    GatewayTrail(Path data, String gateway, Instant start) throws IOException {
        this.data = data;
        this.trail = data.resolve("audit/trail");
        AuditKeys keys = AuditKeys.loadOrCreate(data.resolve("audit.key"), new SecureRandom());
        keys.exportPublicKey(data.resolve("audit.pub"));
        this.clock = new SettableClock(start);
        this.writer = new AuditTrail(trail, AuditTrailConfig.defaults(gateway).withTickEvery(Duration.ZERO), keys, clock, p -> Long.MAX_VALUE);
    }

    /** Records an event at {@code time} (the gateway's clock moves there, also backwards), after the checkpoint then due. */
    GatewayTrail add(String time, String type, Object... fields) {
        Instant t = Instant.parse(time);
        clock.now = t;
        writer.tick();
        AuditEvent.Builder b = AuditEvent.of(type, t);
        for (int i = 0; i < fields.length; i += 2) {
            b.with((String) fields[i], fields[i + 1]);
        }
        writer.record(b.build());
        return this;
    }

    /** A clean stop: the shutdown checkpoint seals the trail. */
    @Override
    public void close() throws IOException {
        writer.close();
    }

    private static final class SettableClock extends Clock {
        volatile Instant now;

        SettableClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
