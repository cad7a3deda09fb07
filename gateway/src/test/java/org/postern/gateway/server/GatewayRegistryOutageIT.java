package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.RegistrySettings;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.pki.PkiService;
import org.postern.pki.registry.Registries;
import org.postern.pki.registry.Registry;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;
import org.postern.pki.testing.TestPostgres;

/**
 * A gateway on a PostgreSQL registry ({@code registry.url: postgresql://…}) whose database is
 * stopped while it runs: after {@code registry.maxStale} its trail says {@code registry.unavailable}
 * once, every live session ends ({@code registry_unavailable}: the gateway can no longer see a
 * revocation made elsewhere), new handshakes are refused, and {@code registry.available} once when
 * the database is back, when tunnels open again.
 */
class GatewayRegistryOutageIT {
    static final ObjectMapper JSON = new ObjectMapper();

    TestPki pki;
    TestPostgres pg;
    GatewayServer gateway;
    Registry shared;
    ServerSocket echo;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (shared != null) {
            shared.close();
        }
        if (echo != null) {
            try {
                echo.close();
            } catch (IOException e) {
                // closing
            }
        }
        if (pg != null) {
            pg.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    @Test
    void databaseStopped_auditedUnavailableOnce_thenAvailableWhenBack() throws Exception {
        pki = TestPki.create();
        pg = TestPostgres.start(pki.workDir("pg"));
        gateway = GatewayServer.start(settings(pg.registrySettings(Duration.ofSeconds(1)), AccessRules.denyAll()),
                new KeyProtection.Passphrase(TestPki.PASSPHRASE));

        pg.stop();
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> !records("registry.unavailable").isEmpty());
        JsonNode down = records("registry.unavailable").getFirst();
        assertThat(down.get("gateway").asText()).isEqualTo("gw-pg");
        assertThat(down.get("detail").asText()).contains("(limit 1000 ms)").contains("cannot reach PostgreSQL")
                .contains(pg.url()).doesNotContain(pg.password());

        pg.restart();
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> !records("registry.available").isEmpty());
        assertThat(records("registry.available").getFirst().get("detail").asText()).startsWith("the registry is readable again after ");
        assertThat(records("registry.unavailable")).as("one record per outage, not per poll").hasSize(1);
    }

    /**
     * Issue 14 review: a stale view closed only the door to new handshakes, and a tunnel open before
     * the outage stayed up past {@code maxStale} — with a device revoked meanwhile through another
     * gateway still on it. Now it ends, and the door stays shut until the registry is read again.
     */
    @Test
    void databaseStopped_liveTunnelEndsAfterMaxStale_asRegistryUnavailable_refusedUntilBack() throws Exception {
        pki = TestPki.create();
        pg = TestPostgres.start(pki.workDir("pg"));
        echo = echoServer();
        RegistrySettings registry = pg.registrySettings(Duration.ofSeconds(2));
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("staff-to-echo", List.of("staff"),
                List.of(Destination.parse("127.0.0.1/32:" + echo.getLocalPort())))));
        gateway = GatewayServer.start(settings(registry, rules), new KeyProtection.Passphrase(TestPki.PASSPHRASE));
        // the laptop is enrolled in the gateway's registry (PostgreSQL), by the same CA
        shared = Registries.open(registry, pki.dataDir, pki.clock);
        PkiService service = new PkiService(() -> pki.ca, shared, pki.audit, pki.settings, pki.clock, pki.random, () -> pki.crl);
        SSLContext device = CompliantLaptop.enroll(pki, service, gateway);
        shared.close();
        shared = null;

        SSLSocket tunnel = connect(device);
        tunnel.getOutputStream().write('x');
        assertThat(tunnel.getInputStream().read()).isEqualTo('x');

        long stoppedAt = System.nanoTime();
        pg.stop();
        assertThat(cut(tunnel)).as("the tunnel is cut").isTrue();
        long cutMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
        System.out.printf("registry outage: live tunnel cut %d ms after PostgreSQL stopped (maxStale 2 s)%n", cutMs);
        assertThat(cutMs).as("cut after maxStale (2 s), not before; then within a failed poll or two").isBetween(2_000L, 15_000L);
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !records("session.end").isEmpty());
        JsonNode end = records("session.end").getFirst();
        assertThat(end.get("reason").asText()).isEqualTo("registry_unavailable");
        assertThat(end.get("device").asText()).isEqualTo("laptop-1");
        assertThat(records("flow.close")).singleElement().satisfies(f -> assertThat(f.get("how").asText()).isEqualTo("registry_unavailable"));
        assertThat(types()).containsSubsequence("registry.unavailable", "flow.close", "session.end");
        assertThat(gateway.sessions().sessions()).isEmpty();

        // the door stays shut: a new connection with the same certificate is refused (an alert in the handshake,
        // or — a resumed TLS session skips the certificate check — closed right after it), audited as such
        try (SSLSocket again = open(device)) {
            assertThat(answered(again)).as("no answer on a new connection while the view is stale").isFalse();
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> records("tls.rejected").stream()
                .anyMatch(r -> "registry.unavailable".equals(r.path("reason").asText())));

        pg.restart();
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> !records("registry.available").isEmpty());
        try (SSLSocket back = connect(device)) {
            back.getOutputStream().write('y');
            assertThat(back.getInputStream().read()).as("tunnels open again once the view is fresh").isEqualTo('y');
        }
    }

    GatewaySettings settings(RegistrySettings registry, AccessRules rules) throws IOException {
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings base = new GatewaySettings("gw-pg", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", freePort()), new HostPort("127.0.0.1", freePort()), false,
                        new HostPort("127.0.0.1", freePort())),
                d.tls(), PosturePolicy.defaults(), rules, d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        return new GatewaySettings(base.id(), base.dataDir(), base.listeners(), base.tls(), base.posture(),
                base.access(), base.limits(), base.audit(), base.ssh(), base.pki(), base.transport(), base.vpn(), registry);
    }

    SSLSocket open(SSLContext device) throws IOException {
        SSLSocket s = (SSLSocket) device.getSocketFactory().createSocket(gateway.address().getAddress(), gateway.address().getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    /** A CONNECT tunnel to the echo server over HTTP/1.1, answered 200. */
    SSLSocket connect(SSLContext device) throws IOException {
        SSLSocket s = open(device);
        GatewayLimitsIT.Answer a = GatewayLimitsIT.exchange(s, "CONNECT 127.0.0.1:" + echo.getLocalPort() + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(a.status()).as(a.headers().toString()).isEqualTo(200);
        return s;
    }

    static ServerSocket echoServer() throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            s.getInputStream().transferTo(s.getOutputStream());
                        } catch (IOException e) {
                            // the tunnel was cut
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server;
    }

    /**
     * Whether the gateway closes the tunnel within 20 s: a poll against a stopped database takes up
     * to the pool's connection timeout, so the cut comes some seconds after maxStale.
     */
    static boolean cut(SSLSocket tunnel) throws IOException {
        tunnel.setSoTimeout(20_000);
        try {
            return tunnel.getInputStream().read() < 0;
        } catch (java.net.SocketException e) {
            return true; // reset
        }
    }

    /** Whether a posture challenge request on this connection gets any answer (false: refused, or closed unanswered). */
    static boolean answered(SSLSocket s) {
        try {
            s.getOutputStream().write("POST /v1/posture/challenge HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n"
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return s.getInputStream().read() >= 0;
        } catch (IOException e) {
            return false; // the handshake's alert, or a reset
        }
    }

    List<String> types() throws IOException {
        return records(null).stream().map(r -> r.get("type").asText()).toList();
    }

    List<JsonNode> records(String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (var files = Files.list(pki.dataDir.resolve("audit/trail"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    JsonNode r = JSON.readTree(line);
                    if (type == null || r.get("type").asText().equals(type)) {
                        out.add(r);
                    }
                }
            }
        }
        return out;
    }

    static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }
}
