package org.postern.gateway.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;

class SharedAuditTrailTest {
    @TempDir
    Path dir;
    private final TrailFixture fx = new TrailFixture();

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
        SharedAuditTrail shared = new SharedAuditTrail(dir, TrailFixture.config(), TrailFixture.KEYS, Duration.ofSeconds(10));
        CompletableFuture<Void> waiting;
        try (AuditTrail holder = fx.open(dir, TrailFixture.config())) {
            holder.record(fx.event(1));
            waiting = CompletableFuture.runAsync(() -> shared.record(fx.event(2)));
            Thread.sleep(200); // a bounded pause to show it does not get in while the lock is held
            assertThat(waiting).isNotDone();
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
