package org.postern.pki.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.postern.pki.registry.Fixtures.cert;
import static org.postern.pki.registry.Fixtures.deviceCert;
import static org.postern.pki.registry.Fixtures.enrolled;
import static org.postern.pki.registry.Fixtures.token;

import java.math.BigInteger;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.RegistrySettings;
import org.postern.config.Secret;
import org.postern.pki.testing.TestPostgres;

/**
 * The registry contract on a real PostgreSQL started for this class ({@link TestPostgres}), the
 * schema dropped before each test; plus what only a database server has: notifications, the server
 * going away and coming back.
 */
class PostgresRegistryContractTest extends RegistryContract {
    @TempDir
    static Path pgDir;
    static TestPostgres pg;

    @BeforeAll
    static void startServer() {
        pg = TestPostgres.start(pgDir);
    }

    @AfterAll
    static void stopServer() {
        pg.close();
    }

    @Override
    void resetStore() {
        execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    }

    @Override
    Registry open() {
        return PostgresRegistry.open(pg.database(), 4, Fixtures.CLOCK);
    }

    @Override
    void execute(String sql) {
        try (Connection c = DriverManager.getConnection("jdbc:" + pg.url(), pg.user(), pg.password()); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    private long queryLong(String sql) {
        try (Connection c = DriverManager.getConnection("jdbc:" + pg.url(), pg.user(), pg.password()); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    @Override
    String storeName() {
        return pg.url();
    }

    @Test
    void onChange_commitByAnotherInstance_wakesWithin2s() throws Exception {
        CountDownLatch woken = new CountDownLatch(1);
        enrolled(registry, "laptop-1", 101);
        try (AutoCloseable subscription = registry.onChange(woken::countDown); Registry other = open()) {
            awaitListening();
            long before = registry.changeCount();
            other.suspendDevice("laptop-1", T1);

            assertThat(woken.await(2, TimeUnit.SECONDS)).as("woken within 2 s").isTrue();
            assertThat(registry.changeCount()).isGreaterThan(before);
        }
    }

    @Test
    void touchDevice_isBookkeeping_andMovesNoChangeCount() {
        enrolled(registry, "laptop-1", 101);
        long before = registry.changeCount();
        registry.touchDevice("laptop-1", T1, "compliant");

        assertThat(registry.changeCount()).isEqualTo(before);
        assertThat(registry.device("laptop-1").orElseThrow().lastPosture()).isEqualTo("compliant");
    }

    /**
     * Review of issue 14: every write bumped the one {@code changes} row, so concurrent enrollments
     * serialized on it and each made every gateway reload its revocation view.
     */
    @Test
    void enrollmentAndOtherWrites_moveNoChangeCount_revocationsDo() {
        long before = registry.changeCount();
        enrolled(registry, "laptop-1", 101);
        registry.addToken(token("laptop-1", "-again"));
        registry.updateDevice("laptop-1", "bob", List.of("dev"));
        registry.addCertificate(cert(CertificateRecord.Kind.server, null, BigInteger.valueOf(900), T1));
        registry.nextCrlNumber();
        assertThat(registry.changeCount()).as("enrollment, token, owner, certificate, CRL number").isEqualTo(before);

        registry.recordRenewal(deviceCert("laptop-1", 102, T1), BigInteger.valueOf(101), T1);
        long renewed = registry.changeCount();
        assertThat(renewed).as("a renewal supersedes a certificate").isGreaterThan(before);
        registry.suspendDevice("laptop-1", T1);
        assertThat(registry.changeCount()).as("a suspension").isGreaterThan(renewed);
        long suspended = registry.changeCount();
        registry.resumeDevice("laptop-1", T2);
        assertThat(registry.changeCount()).as("a resumption").isGreaterThan(suspended);
        long resumed = registry.changeCount();
        registry.revokeCertificate(BigInteger.valueOf(900), RevocationReason.keyCompromise, T2);
        assertThat(registry.changeCount()).as("a certificate revocation").isGreaterThan(resumed);
        long certRevoked = registry.changeCount();
        registry.revokeDevice("laptop-1", RevocationReason.lost, T2);
        assertThat(registry.changeCount()).as("a device revocation").isGreaterThan(certRevoked);
    }

    /** 8 gateways' worth of enrollments at once: all complete, none runs out of retries. */
    @Test
    @Timeout(120)
    void enrollments_8threadsX50_allComplete() throws Exception {
        int threads = 8;
        int each = 50;
        ExecutorService workers = Executors.newFixedThreadPool(threads);
        try (Registry wide = PostgresRegistry.open(pg.database(), threads, Fixtures.CLOCK)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(workers.submit(() -> {
                    go.await();
                    for (int i = 0; i < each; i++) {
                        enrolled(wide, "laptop-" + thread + "-" + i, 1000L + thread * each + i);
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(100, TimeUnit.SECONDS); // a registry.unavailable fails here with its message
            }
            assertThat(wide.devices()).hasSize(threads * each)
                    .allSatisfy(d -> assertThat(d.status()).isEqualTo(DeviceStatus.ACTIVE));
        } finally {
            workers.shutdownNow();
        }
    }

    /**
     * Review of issue 14: the migration's serializable snapshot was taken at the advisory lock,
     * before the wait, so a process that waited read schema version 0 and ran V1 again (42P07).
     */
    @Test
    @Timeout(120)
    void open_severalAtOnceOnAFreshDatabase_allSucceedAndMigrateOnce() throws Exception {
        int processes = 6;
        ExecutorService starters = Executors.newFixedThreadPool(processes);
        try {
            for (int round = 0; round < 3; round++) {
                resetStore();
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Registry>> opening = new ArrayList<>();
                for (int i = 0; i < processes; i++) {
                    opening.add(starters.submit(() -> {
                        go.await();
                        return open();
                    }));
                }
                go.countDown();
                for (Future<Registry> f : opening) {
                    f.get(60, TimeUnit.SECONDS).close(); // a failed migration fails here with its message
                }
                assertThat(queryLong("SELECT count(*) FROM schema_version")).as("round %d: migrations recorded", round)
                        .isEqualTo(SchemaMigrations.POSTGRES_SCRIPTS.size());
            }
        } finally {
            starters.shutdownNow();
        }
    }

    /**
     * An existing deployment at schema version 1 (no charter table) upgraded by several gateways
     * starting at once with this release: version 2 is applied once, the data stays.
     */
    @Test
    @Timeout(120)
    void open_severalAtOnceOnAVersion1Database_migrateTo2Once_andKeepTheData() throws Exception {
        registry.close();
        resetStore();
        try (Registry v1 = PostgresRegistry.open(pg.database(), 2, Fixtures.CLOCK, List.of(SchemaMigrations.POSTGRES_SCRIPTS.get(0)))) {
            enrolled(v1, "laptop-1", 101);
        }
        assertThat(queryLong("SELECT count(*) FROM information_schema.tables WHERE table_name = 'charter_acceptances'"))
                .as("no charter table at version 1").isZero();
        int processes = 6;
        ExecutorService starters = Executors.newFixedThreadPool(processes);
        List<Registry> opened = new ArrayList<>();
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Registry>> opening = new ArrayList<>();
            for (int i = 0; i < processes; i++) {
                opening.add(starters.submit(() -> {
                    go.await();
                    return open();
                }));
            }
            go.countDown();
            for (Future<Registry> f : opening) {
                opened.add(f.get(60, TimeUnit.SECONDS)); // a failed migration fails here with its message
            }
            assertThat(queryLong("SELECT count(*) FROM schema_version")).isEqualTo(2);
            assertThat(queryLong("SELECT min(version) * 10 + max(version) FROM schema_version")).as("versions {1, 2}").isEqualTo(12);
            assertThat(queryLong("SELECT count(*) FROM information_schema.tables WHERE table_name = 'charter_acceptances'")).isOne();
            Registry any = opened.get(0);
            assertThat(any.device("laptop-1")).get().extracting(Device::status).isEqualTo(DeviceStatus.ACTIVE);
            any.acceptCharter(new CharterAcceptance("laptop-1", "alice", 1, SHA_A, T1));
            assertThat(opened.get(processes - 1).charterAcceptance("laptop-1")).isPresent();
        } finally {
            opened.forEach(Registry::close);
            starters.shutdownNow();
            registry = open();
        }
    }

    @Test
    void serverStopped_isUnavailable_andRecoversAfterRestart() throws Exception {
        enrolled(registry, "laptop-1", 101);
        CountDownLatch woken = new CountDownLatch(1);
        try (AutoCloseable subscription = registry.onChange(woken::countDown)) {
            pg.stop();
            try {
                assertRefused(() -> registry.device("laptop-1"), "registry.unavailable")
                        .hasMessageContaining(pg.url()).hasMessageContaining("cannot reach PostgreSQL");
                assertRefused(() -> registry.suspendDevice("laptop-1", T1), "registry.unavailable");
                assertRefused(() -> registry.changeCount(), "registry.unavailable");
            } finally {
                pg.restart();
            }
            // the pool replaces its dead connections, the listener reconnects and says so
            await().atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(RegistryException.class)
                    .until(() -> registry.device("laptop-1").isPresent());
            assertThat(woken.await(5, TimeUnit.SECONDS)).as("woken after reconnecting").isTrue();
            registry.suspendDevice("laptop-1", T1);
            assertThat(registry.barredDevices()).containsEntry("laptop-1", DeviceStatus.SUSPENDED);
        }
    }

    @Test
    void open_serverDown_isUnavailableNamingTheDatabase() {
        pg.stop();
        try {
            assertRefused(this::open, "registry.unavailable").hasMessageContaining(pg.url()).hasMessageContaining("cannot migrate");
        } finally {
            pg.restart();
        }
    }

    @Test
    void open_wrongPassword_isUnavailableAndSaysLoginRefused() {
        RegistrySettings.Postgres right = pg.database();
        RegistrySettings.Postgres wrong = new RegistrySettings.Postgres(right.host(), right.port(), right.database(), right.user(), Secret.of("wrong"),
                null, false);

        assertRefused(() -> PostgresRegistry.open(wrong, 2, Fixtures.CLOCK), "registry.unavailable")
                .hasMessageContaining("PostgreSQL refused the login").hasMessageNotContaining(pg.password());
    }

    /** The listener thread LISTENs shortly after the first subscription; a change before that would only be polled. */
    private void awaitListening() {
        await().atMost(Duration.ofSeconds(5)).until(pg::hasListener);
    }
}
