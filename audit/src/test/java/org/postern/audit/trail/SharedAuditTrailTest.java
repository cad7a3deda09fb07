package org.postern.audit.trail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;

class SharedAuditTrailTest {
    @TempDir
    Path dir;
    private final TrailFixture fx = new TrailFixture();

    @BeforeEach
    void eventsAtTheSystemTime() {
        // SharedAuditTrail runs on the system clock: events dated days ago would make each open
        // rotate the segment by age and add rotation checkpoints the counts below do not expect.
        fx.clock.advance(Duration.between(fx.clock.instant(), Instant.now()));
    }

    @Test
    void open_whileAnotherWriterHoldsTheTrail_isRefusedNamingTheLock() throws Exception {
        try (AuditTrail first = fx.open(dir, TrailFixture.config())) {
            assertThatThrownBy(() -> fx.open(dir, TrailFixture.config()))
                    .isInstanceOf(AuditTrail.LockedException.class)
                    .hasMessage("audit trail " + dir.toAbsolutePath() + " is being written by another writer ("
                            + dir.toAbsolutePath().resolve("trail.lock") + " is locked); expected one writer per trail directory");
            first.record(fx.event(1));
        }
        try (AuditTrail again = fx.open(dir, TrailFixture.config())) { // the lock went with close
            again.record(fx.event(2));
        }
        assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true).ok()).isTrue();
    }

    @Test
    void record_eachSealedByACheckpoint_verifiesStrictly() throws Exception {
        SharedAuditTrail shared = new SharedAuditTrail(dir, TrailFixture.config(), TrailFixture.KEYS, Duration.ofSeconds(5));
        for (int i = 0; i < 3; i++) {
            shared.record(fx.event(i));
        }
        AuditVerifier.Result r = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(r.ok()).as(String.valueOf(r.problem())).isTrue();
        assertThat(r.records()).isEqualTo(6);
        assertThat(r.checkpoints()).isEqualTo(3);
        assertThat(r.unsealed()).isZero();
    }

    @Test
    void record_whileTheTrailIsHeld_waitsForItsTurn() throws Exception {
        CountDownLatch refused = new CountDownLatch(2);
        SharedAuditTrail shared = new SharedAuditTrail(dir, TrailFixture.config(), TrailFixture.KEYS, Duration.ofSeconds(10),
                busy -> refused.countDown());
        CompletableFuture<Void> waiting;
        try (AuditTrail holder = fx.open(dir, TrailFixture.config())) {
            holder.record(fx.event(1));
            waiting = CompletableFuture.runAsync(() -> shared.record(fx.event(2)));
            // the writer tried the lock twice and was refused both times: it waits rather than writing past it
            assertThat(refused.await(10, TimeUnit.SECONDS)).as("the second writer was refused the lock").isTrue();
            assertThat(waiting).isNotDone();
            assertThat(AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), false).records()).isEqualTo(1);
        }
        waiting.get(10, TimeUnit.SECONDS);
        AuditVerifier.Result r = AuditVerifier.verify(dir, TrailFixture.KEYS.publicKey(), true);
        assertThat(r.ok()).as(String.valueOf(r.problem())).isTrue();
        assertThat(r.records()).isEqualTo(4); // event, shutdown checkpoint, event, shutdown checkpoint
    }

    @Test
    void record_whenTheLockIsNeverReleased_failsClosedAfterTheWait() throws Exception {
        SharedAuditTrail shared = new SharedAuditTrail(dir, TrailFixture.config(), TrailFixture.KEYS, Duration.ofMillis(300));
        try (AuditTrail holder = fx.open(dir, TrailFixture.config())) {
            AuditEvent e = fx.event(1);
            assertThatThrownBy(() -> shared.record(e)).isInstanceOf(AuditUnavailableException.class)
                    .hasMessageStartingWith("audit.unavailable: audit trail " + dir.toAbsolutePath() + " is being written by another writer")
                    .hasMessageEndingWith("; waited 0 s for it");
        }
    }
}
