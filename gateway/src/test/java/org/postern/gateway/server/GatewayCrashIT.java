package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.PkiService;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.Evidence;

/**
 * Issue 11 item 5: a gateway killed with SIGKILL (kill -9) while a device has a tunnel open. The
 * gateway runs as a child process (only that PID is killed); restarted on the same data directory,
 * it writes {@code gateway.recovered} and closes the session and flow the killed run left open
 * ({@code gateway_crashed}), and the trail still verifies.
 */
class GatewayCrashIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestPki pki;
    private ServerSocket adminHost;
    private Process child;
    private GatewayServer restarted;

    @AfterEach
    void tearDown() throws Exception {
        if (child != null && child.isAlive()) {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
        if (restarted != null) {
            restarted.close();
        }
        if (adminHost != null) {
            adminHost.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    static GatewaySettings settings(Path dataDir, int tunnel, int admin, int ssh, int adminHostPort) {
        GatewaySettings d = GatewaySettings.defaults();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("admins-to-host", List.of("admins"),
                List.of(Destination.parse("127.0.0.1/32:" + adminHostPort)))));
        return new GatewaySettings("gw-crash", dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", tunnel), new HostPort("127.0.0.1", admin), false,
                        new HostPort("127.0.0.1", ssh)),
                d.tls(), PosturePolicy.defaults(), rules, d.limits(),
                new GatewaySettings.Audit(dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
    }

    @Test
    void killedWithATunnelOpen_restart_recordsGatewayRecoveredAndEndsTheSessionAndFlow() throws Exception {
        pki = TestPki.create();
        Path work = pki.workDir("crash");
        adminHost = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    held.add(adminHost.accept()); // holds the tunnel's far end open
                }
            } catch (IOException closed) {
                // the test is over
            }
        });
        int tunnel = GatewayServerIT.freePort();
        int[] ports = {tunnel, GatewayServerIT.freePort(), GatewayServerIT.freePort(), adminHost.getLocalPort()};
        Path out = work.resolve("child.out");
        Path err = work.resolve("child.err");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                CrashChildGateway.class.getName(), pki.dataDir.toString(), "" + ports[0], "" + ports[1], "" + ports[2], "" + ports[3])
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> !child.isAlive() || Files.readString(out).contains("READY"));
        assertThat(child.isAlive()).as("the child gateway runs: %s", Files.readString(err)).isTrue();

        // a device with a lease opens a tunnel, and keeps it open
        PkiService.NewDevice added = pki.service.addDevice("laptop-1", "alice", List.of("admins"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = pki.service.enroll("laptop-1", added.token(), TestCsrs.body(keys, "laptop-1"), "test");
        try (HttpClient client = HttpClient.newBuilder().sslContext(pki.clientTls(keys.getPrivate(), cert))
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> c = post(client, tunnel, "/v1/posture/challenge", "");
            assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
            String jws = Evidence.sign(GatewayServerIT.claims("laptop-1", JSON.readTree(c.body()).get("nonce").asText(), Instant.now()),
                    keys.getPrivate(), cert);
            HttpResponse<String> e = post(client, tunnel, "/v1/posture/evidence", "{\"evidence\":\"" + jws + "\"}");
            assertThat(e.statusCode()).as(e.body()).isEqualTo(200);
        }
        try (SSLSocket s = (SSLSocket) pki.clientTls(keys.getPrivate(), cert).getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), tunnel)) {
            s.setSoTimeout(10_000);
            String dest = "127.0.0.1:" + adminHost.getLocalPort();
            s.getOutputStream().write(("CONNECT " + dest + " HTTP/1.1\r\nHost: " + dest + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(head(s.getInputStream())).startsWith("HTTP/1.1 200");
            Path trail = pki.dataDir.resolve("audit/trail");
            await().atMost(Duration.ofSeconds(10)).until(() -> types(trail).contains("flow.open"));
            String session = records(trail).stream().filter(r -> r.path("type").asText().equals("session.start"))
                    .findFirst().orElseThrow().path("session").asText();
            String flow = records(trail).stream().filter(r -> r.path("type").asText().equals("flow.open"))
                    .findFirst().orElseThrow().path("flow").asText();

            long pid = child.pid();
            child.destroyForcibly(); // SIGKILL to the child's PID, as kill -9 PID
            assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).as("killed by signal 9").isEqualTo(128 + 9);
            assertThat(types(trail)).as("the killed run left the session open").doesNotContain("session.end", "flow.close");

            restarted = GatewayServer.start(settings(pki.dataDir, ports[0], ports[1], ports[2], ports[3]),
                    new KeyProtection.Passphrase(TestPki.PASSPHRASE));
            List<JsonNode> records = records(trail);
            JsonNode close = find(records, "flow.close");
            assertThat(close.path("flow").asText()).isEqualTo(flow);
            assertThat(close.path("how").asText()).isEqualTo("gateway_crashed");
            JsonNode end = find(records, "session.end");
            assertThat(end.path("session").asText()).as("pid %d's session", pid).isEqualTo(session);
            assertThat(end.path("reason").asText()).isEqualTo("gateway_crashed");
            assertThat(end.path("user").asText()).isEqualTo("alice");
            JsonNode recovered = find(records, "gateway.recovered");
            assertThat(recovered.path("sessions").asInt()).isEqualTo(1);
            assertThat(recovered.path("flows").asInt()).isEqualTo(1);
            assertThat(types(trail)).containsSubsequence("flow.open", "flow.close", "session.end", "gateway.recovered");
        }
        restarted.close();
        restarted = null;
        assertThat(types(pki.dataDir.resolve("audit/trail"))).endsWith("gateway.stop", "audit.checkpoint");
        var result = AuditVerifier.verify(pki.dataDir.resolve("audit/trail"), AuditKeys.readPublicKey(pki.dataDir.resolve("audit.pub")), false);
        assertThat(result.problem()).as("audit verify").isNull();
    }

    private static JsonNode find(List<JsonNode> records, String type) {
        return records.stream().filter(r -> r.path("type").asText().equals(type)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type + " in " + records));
    }

    private static HttpResponse<String> post(HttpClient client, int port, String path, String body) throws Exception {
        return client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("https://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (!b.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new AssertionError("closed before the answer's head ended: " + b);
            }
            b.write(c);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    private static List<String> types(Path trail) throws IOException {
        return records(trail).stream().map(r -> r.path("type").asText()).toList();
    }

    private static List<JsonNode> records(Path trail) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (var files = Files.list(trail)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    out.add(JSON.readTree(line));
                }
            }
        }
        return out;
    }
}
