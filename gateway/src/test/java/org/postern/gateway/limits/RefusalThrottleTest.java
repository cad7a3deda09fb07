package org.postern.gateway.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import com.github.benmanes.caffeine.cache.Scheduler;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;

/** Issue 11, item 6: refusals of unauthenticated peers are written a few a minute per source, the rest counted. */
class RefusalThrottleTest {

    final List<AuditEvent> written = new CopyOnWriteArrayList<>();
    final AuditSink trail = written::add;
    final AtomicLong nanos = new AtomicLong(1_000);

    RefusalThrottle throttle(long maxSources) {
        return new RefusalThrottle(trail, Clock.fixed(Instant.parse("2026-11-30T08:00:00Z"), ZoneOffset.UTC), nanos::get,
                Runnable::run, Scheduler.disabledScheduler(), 5, Duration.ofMinutes(1), maxSources);
    }

    static AuditEvent noCert(String source) {
        return AuditEvent.of("access.denied", Instant.EPOCH).with("source", source).with("dest", "x:443")
                .with("reason", "tls.client_cert_required").with("detail", "no device certificate").build();
    }

    @Test
    void twoHundredRefusalsFromOneSource_fiveWrittenThenOneRecordCountingTheRest() {
        RefusalThrottle t = throttle(100);
        for (int i = 0; i < 200; i++) {
            t.record(noCert("203.0.113.7:" + (40000 + i)));
        }
        assertThat(written).hasSize(5);

        nanos.addAndGet(Duration.ofSeconds(61).toNanos());
        t.cleanUp();

        assertThat(written).hasSize(6);
        AuditEvent aggregate = written.get(5);
        assertThat(aggregate.type()).isEqualTo("access.denied");
        assertThat(aggregate.fields()).containsEntry("source", "203.0.113.7").containsEntry("more", 195L)
                .containsEntry("reason", "tls.client_cert_required").containsEntry("windowSeconds", 60L);
        assertThat((String) aggregate.fields().get("detail")).startsWith("195 more like this from 203.0.113.7 in the last 60s");

        t.record(noCert("203.0.113.7:1")); // a new window
        assertThat(written).hasSize(7);
    }

    @Test
    void refusedProxyHeaders_areLimited_theSourceLimitsOwnRecordsAreNot() {
        RefusalThrottle t = throttle(100);
        for (int i = 0; i < 20; i++) {
            t.record(AuditEvent.of("connection.denied", Instant.EPOCH).with("listener", "tunnel")
                    .with("source", "198.51.100.9:" + (40000 + i)).with("reason", "proxy.untrusted").build());
            t.record(AuditEvent.of("connection.denied", Instant.EPOCH).with("source", "198.51.100.9")
                    .with("reason", "limits.connections_per_source").with("refused", 1).build());
        }
        assertThat(written).hasSize(5 + 20);
        nanos.addAndGet(Duration.ofSeconds(61).toNanos());
        t.cleanUp();
        assertThat(written.getLast().fields()).containsEntry("reason", "proxy.untrusted").containsEntry("more", 15L)
                .containsEntry("source", "198.51.100.9");
    }

    @Test
    void authenticatedRecordsAndOtherSources_areNotLimited() {
        RefusalThrottle t = throttle(100);
        for (int i = 0; i < 20; i++) {
            t.record(AuditEvent.of("access.denied", Instant.EPOCH).with("device", "laptop-1").with("source", "10.0.0.1:1")
                    .with("reason", "access.no_rule").build());
            t.record(AuditEvent.of("flow.open", Instant.EPOCH).with("source", "10.0.0.1:1").build());
        }
        for (int i = 0; i < 5; i++) {
            t.record(noCert("10.0.0.2:1"));
            t.record(noCert("[2001:db8::1]:1"));
            t.record(AuditEvent.of("tls.rejected", Instant.EPOCH).with("source", "10.0.0.2:1").with("reason", "device.revoked").build());
        }
        assertThat(written).hasSize(40 + 15);
    }

    @Test
    void windowsAreBounded_anEvictedOneWritesItsCount_andCloseWritesTheRest() {
        RefusalThrottle t = throttle(2);
        for (int s = 1; s <= 3; s++) {
            for (int i = 0; i < 8; i++) {
                t.record(noCert("198.51.100." + s + ":1"));
            }
            t.cleanUp();
        }
        List<AuditEvent> counts = written.stream().filter(e -> e.fields().containsKey("more")).toList();
        assertThat(counts).hasSize(1).allSatisfy(e -> assertThat(e.fields()).containsEntry("more", 3L));

        t.close();

        assertThat(written.stream().filter(e -> e.fields().containsKey("more")).map(e -> e.fields().get("source")))
                .containsExactlyInAnyOrder("198.51.100.1", "198.51.100.2", "198.51.100.3");
        assertThat(written.stream().filter(e -> e.fields().containsKey("more")).mapToLong(e -> (Long) e.fields().get("more")).sum())
                .isEqualTo(9);
        assertThat(written).hasSize(15 + 3);
    }

    @Test
    void address_dropsThePort() {
        assertThat(RefusalThrottle.address("203.0.113.7:443")).isEqualTo("203.0.113.7");
        assertThat(RefusalThrottle.address("[2001:db8::1]:443")).isEqualTo("2001:db8::1");
        assertThat(RefusalThrottle.address("2001:db8::1")).isEqualTo("2001:db8::1");
    }
}
