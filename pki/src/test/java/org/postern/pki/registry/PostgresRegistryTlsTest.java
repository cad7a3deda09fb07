package org.postern.pki.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.postern.pki.registry.Fixtures.enrolled;

import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.pki.PkiService;
import org.postern.pki.testing.TestPki;
import org.postern.pki.testing.TestPostgres;

/**
 * {@code registry.tlsCa}: the registry reaches a real PostgreSQL serving TLS with a certificate for
 * 127.0.0.1 issued by a test PKI, verifying it ({@code verify-full}) with the pool and with the
 * listening connection; a server whose certificate another CA signed is refused. The server admits
 * TCP logins over TLS only, so every connection that works used TLS. Review of issue 14: the
 * driver's default did not verify the server, so someone on the path could hide revocations.
 */
class PostgresRegistryTlsTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    static TestPki stranger;
    static TestPostgres pg;

    @BeforeAll
    static void start() {
        pki = TestPki.create();
        stranger = TestPki.create();
        PkiService.Issued server = pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
        List<Object> chain = new ArrayList<>();
        chain.add(server.certificate());
        chain.addAll(pki.ca.chain());
        pg = TestPostgres.startTls(dir, new TestPostgres.ServerTls(Pem.encodeAll(chain),
                new String(KeyFiles.plainPem(server.keys().getPrivate()), StandardCharsets.US_ASCII)));
    }

    @AfterAll
    static void stop() {
        try {
            if (pg != null) {
                pg.close();
            }
        } finally {
            pki.close();
            stranger.close();
        }
    }

    @Test
    void verifyFull_rightCa_poolAndListenerUseTls_andChangesWake() throws Exception {
        try (PostgresRegistry registry = PostgresRegistry.open(pg.database(pki.rootFile()), 2, Fixtures.CLOCK);
                PostgresRegistry other = PostgresRegistry.open(pg.database(pki.rootFile()), 2, Fixtures.CLOCK)) {
            boolean poolTls = registry.read("ask", c -> queryBoolean(c, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
            assertThat(poolTls).as("the pool's connection is TLS").isTrue();
            enrolled(registry, "laptop-1", 101);
            CountDownLatch woken = new CountDownLatch(1);
            try (AutoCloseable subscription = registry.onChange(woken::countDown)) {
                await().atMost(Duration.ofSeconds(5)).until(pg::hasListener);
                boolean listenerTls = registry.read("ask", c -> queryBoolean(c, "SELECT bool_and(s.ssl) FROM pg_stat_activity a "
                        + "JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.query LIKE 'LISTEN %'"));
                assertThat(listenerTls).as("the listener's connection is TLS").isTrue();

                other.suspendDevice("laptop-1", Fixtures.T0.plusSeconds(120));

                assertThat(woken.await(2, TimeUnit.SECONDS)).as("woken over the TLS listening connection within 2 s").isTrue();
            }
        }
    }

    @Test
    void verifyFull_serverCertificateOfAnotherCa_isUnavailableSayingTls() {
        Path wrongCa = stranger.rootFile();

        assertThatThrownBy(() -> PostgresRegistry.open(pg.database(wrongCa), 2, Fixtures.CLOCK))
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.code()).isEqualTo("registry.unavailable"))
                .hasMessageContaining(pg.url())
                .hasMessageContaining("TLS to PostgreSQL failed (is its certificate for the host and signed by a CA in registry.tlsCa "
                        + wrongCa + "?)")
                .hasMessageNotContaining(pg.password());
    }

    @Test
    void plaintext_isRefusedByThisServer_soTheTlsTestsProveTls() {
        // the loopback default, sslmode=prefer, would use TLS: force none to see the server refuse it
        assertThatThrownBy(() -> DriverManager.getConnection("jdbc:" + pg.url() + "?sslmode=disable", pg.user(), pg.password()))
                .hasMessageContaining("no encryption");
    }

    private static boolean queryBoolean(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
