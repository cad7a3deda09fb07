package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.cli.audit.AuditCommandTest.Run;
import org.postern.gateway.session.SessionRecovery;

/**
 * Issue 11: a session a killed gateway left open counts as connected until the dead run's last
 * record, not until whatever the next run writes. The gateway's next start closes it
 * ({@link SessionRecovery}, {@code gateway_crashed}); the auditor's report must take that end.
 */
class ReportAfterCrashTest {
    private static final AuditKeys KEYS = AuditKeys.generate(new SecureRandom());
    private static final Instant T0 = Instant.parse("2026-11-30T08:00:00Z");

    @TempDir
    Path tmp;

    @Test
    void report_sessionLeftOpenByACrash_countsUntilTheDeadRunsLastRecord_andTheTrailVerifies() throws Exception {
        Path dir = tmp.resolve("trail");
        Instant lastAlive = T0.plus(Duration.ofMinutes(10));
        // run 1: alice connects; the gateway is killed after its last record (closing the trail writes
        // a checkpoint at the clock's time, lastAlive, but no gateway.stop)
        try (AuditTrail trail = open(dir, lastAlive)) {
            trail.record(start("s-alice", "laptop-1", "alice", T0));
            trail.record(AuditEvent.of("posture.decision", lastAlive).with("session", "s-alice").with("device", "laptop-1")
                    .with("user", "alice").with("result", "compliant").build());
        }
        // run 2, five hours later: recovery at start, then bob's whole session
        Instant restart = T0.plus(Duration.ofHours(5));
        try (AuditTrail trail = open(dir, restart)) {
            SessionRecovery.Recovered r = SessionRecovery.recover(trail, Clock.fixed(restart, ZoneOffset.UTC));
            assertThat(r).isNotNull();
            assertThat(r.sessions()).isEqualTo(1);
            trail.record(start("s-bob", "laptop-2", "bob", restart));
            trail.record(AuditEvent.of("session.end", restart.plus(Duration.ofMinutes(30))).with("session", "s-bob")
                    .with("device", "laptop-2").with("user", "bob").with("reason", "client_closed").build());
        }

        Run report = AuditCommandTest.run("audit", "report", dir.toString(), "--since", "2026-11-30", "--until", "2026-11-30");
        assertThat(report.code()).as(report.err()).isZero();
        String out = report.out().replaceAll(" +", " ");
        // alice 08:00-08:10 (not until bob's records at 13:00-13:30); bob 13:00-13:30
        assertThat(out).contains("2026-11-30 alice 1 0.17\n").contains("2026-11-30 bob 1 0.50\n")
                .contains("alice 1 0.17\n").contains("bob 1 0.50\n");
        assertThat(out).as("a crash is not a denial").doesNotContain("gateway_crashed");

        Path pub = tmp.resolve("audit.pub");
        KEYS.exportPublicKey(pub);
        Run verify = AuditCommandTest.run("audit", "verify", dir.toString(), "--pubkey", pub.toString());
        assertThat(verify.code()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).startsWith("OK: ");
    }

    private static AuditTrail open(Path dir, Instant now) throws IOException {
        return new AuditTrail(dir, AuditTrailConfig.defaults("gw-test").withTickEvery(Duration.ZERO), KEYS,
                Clock.fixed(now, ZoneOffset.UTC), p -> Long.MAX_VALUE);
    }

    /** The fields the gateway writes at a session start. */
    private static AuditEvent start(String session, String device, String user, Instant at) {
        return AuditEvent.of("session.start", at).with("session", session).with("device", device).with("user", user)
                .with("certSerial", "6f1c").with("source", "203.0.113.5:50000").with("via", "tls").build();
    }
}
