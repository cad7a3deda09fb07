package org.postern.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.RegistrySettings;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.EnrollmentToken;
import org.postern.pki.registry.Registries;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPostgres;

/**
 * Two gateways' registries on one real PostgreSQL: a revocation made through one reaches the
 * other's revocation view by notification, well before its (here very slow) poll; the database
 * stopped makes the view fail closed after {@code registry.maxStale}, audited once, and it recovers
 * when the database is back.
 */
class LiveRevocationsPostgresTest {
    static final Clock CLOCK = Clock.systemUTC();
    static final BigInteger SERIAL = BigInteger.valueOf(0x5eed);

    @TempDir
    Path dir;
    TestPostgres pg;
    Registry gatewayA;
    Registry gatewayB;

    @AfterEach
    void close() {
        if (gatewayA != null) {
            gatewayA.close();
        }
        if (gatewayB != null) {
            gatewayB.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    void start(Duration maxStale) {
        pg = TestPostgres.start(dir);
        RegistrySettings settings = pg.registrySettings(maxStale);
        gatewayA = Registries.open(settings, dir, CLOCK);
        gatewayB = Registries.open(settings, dir, CLOCK);
        Instant now = CLOCK.instant();
        gatewayA.addDevice(new Device("laptop-1", "alice", List.of("admins"), DeviceStatus.PENDING, null, now, null, null, null),
                new EnrollmentToken("ab".repeat(32), "laptop-1", now, now.plusSeconds(3600), null));
        gatewayA.completeEnrollment("ab".repeat(32), new CertificateRecord(SERIAL, CertificateRecord.Kind.device, "laptop-1",
                "CN=laptop-1", "cd".repeat(32), now, now.plusSeconds(86400), now, null, null, new byte[] {0x30, 0x00}), now);
    }

    @Test
    void revokedThroughAnotherGateway_refusedByNotification_longBeforeThePoll() {
        start(RegistrySettings.DEFAULT_MAX_STALE);
        try (LiveRevocations viewB = LiveRevocations.start(gatewayB, CLOCK, Duration.ofSeconds(30), Duration.ofSeconds(60))) {
            List<String> barred = new CopyOnWriteArrayList<>();
            viewB.onBarred((device, why) -> barred.add(device + " " + why.wireName()));
            assertThat(viewB.refusal("laptop-1", SERIAL)).isNull();
            // the listener connection LISTENs shortly after the view subscribed
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(pg::hasListener);

            long t0 = System.nanoTime();
            gatewayA.revokeDevice("laptop-1", RevocationReason.keyCompromise, CLOCK.instant());
            Awaitility.await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
                    .until(() -> viewB.refusal("laptop-1", SERIAL) != null);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
            assertThat(viewB.refusal("laptop-1", SERIAL).reason()).isEqualTo("device.revoked");
            Awaitility.await().atMost(Duration.ofSeconds(1)).until(() -> barred.contains("laptop-1 revoked"));
        }
    }

    @Test
    void databaseStopped_failsClosedAfterMaxStale_auditedOnce_andRecovers() {
        start(Duration.ofSeconds(1));
        List<String> heard = new CopyOnWriteArrayList<>();
        try (LiveRevocations view = LiveRevocations.start(gatewayB, CLOCK, LiveRevocations.DEFAULT_POLL, Duration.ofSeconds(1),
                (available, detail) -> heard.add(available + " " + detail))) {
            assertThat(view.refusal("laptop-1", SERIAL)).isNull();

            pg.stop();
            Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                    .until(() -> view.refusal("laptop-1", SERIAL) != null);
            assertThat(view.refusal("laptop-1", SERIAL).reason()).isEqualTo("registry.unavailable");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !heard.isEmpty());
            assertThat(heard.getFirst()).startsWith("false the registry was last read ").contains("cannot reach PostgreSQL");

            pg.restart();
            Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                    .until(() -> view.refusal("laptop-1", SERIAL) == null);
            Awaitility.await().atMost(Duration.ofSeconds(2)).until(() -> heard.size() == 2);
            assertThat(heard.get(1)).startsWith("true the registry is readable again after ");
            assertThat(heard).as("one record per transition, not per poll").hasSize(2);
        }
    }
}
