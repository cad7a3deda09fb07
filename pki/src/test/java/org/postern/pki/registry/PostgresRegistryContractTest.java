package org.postern.pki.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.postern.pki.registry.Fixtures.device;
import static org.postern.pki.registry.Fixtures.enrolled;
import static org.postern.pki.registry.Fixtures.token;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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

    @Override
    String storeName() {
        return pg.url();
    }

    @Test
    void onChange_commitByAnotherInstance_wakesWithin2s() throws Exception {
        CountDownLatch woken = new CountDownLatch(1);
        try (AutoCloseable subscription = registry.onChange(woken::countDown); Registry other = open()) {
            awaitListening();
            long before = registry.changeCount();
            other.addDevice(device("laptop-1"), token("laptop-1"));

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
        RegistrySettings.Postgres wrong = new RegistrySettings.Postgres(right.host(), right.port(), right.database(), right.user(), Secret.of("wrong"));

        assertRefused(() -> PostgresRegistry.open(wrong, 2, Fixtures.CLOCK), "registry.unavailable")
                .hasMessageContaining("PostgreSQL refused the login").hasMessageNotContaining(pg.password());
    }

    /** The listener thread LISTENs shortly after the first subscription; a change before that would only be polled. */
    private void awaitListening() {
        await().atMost(Duration.ofSeconds(5)).until(pg::hasListener);
    }
}
