package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;
import org.postern.pki.testing.TestPostgres;

/**
 * A gateway on a PostgreSQL registry ({@code registry.url: postgresql://…}) whose database is
 * stopped while it runs: after {@code registry.maxStale} its trail says {@code registry.unavailable}
 * once, and {@code registry.available} once when the database is back.
 */
class GatewayRegistryOutageIT {
    static final ObjectMapper JSON = new ObjectMapper();

    TestPki pki;
    TestPostgres pg;
    GatewayServer gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
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
        RegistrySettings registry = pg.registrySettings(Duration.ofSeconds(1));
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings base = new GatewaySettings("gw-pg", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", freePort()), new HostPort("127.0.0.1", freePort()), false,
                        new HostPort("127.0.0.1", freePort())),
                d.tls(), PosturePolicy.defaults(), AccessRules.denyAll(), d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        GatewaySettings settings = new GatewaySettings(base.id(), base.dataDir(), base.listeners(), base.tls(), base.posture(),
                base.access(), base.limits(), base.audit(), base.ssh(), base.pki(), base.transport(), base.vpn(), registry);
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));

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

    List<JsonNode> records(String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (var files = Files.list(pki.dataDir.resolve("audit/trail"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    JsonNode r = JSON.readTree(line);
                    if (r.get("type").asText().equals(type)) {
                        out.add(r);
                    }
                }
            }
        }
        return out;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
