package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
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

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.PkiService;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

/**
 * The assembled gateway over real sockets: a device of group {@code admins} is refused a tunnel
 * without a lease, proves its posture, and then curl reaches a local HTTP server through the
 * gateway as an HTTPS proxy with the device's client certificate.
 */
public class GatewayServerIT {
    static final ObjectMapper JSON = new ObjectMapper();

    TestPki pki;
    HttpServer admin;
    GatewayServer gateway;
    Path work;

    @BeforeEach
    void start() throws Exception {
        assertThat(Path.of("/usr/bin/curl")).as("this test drives curl; install curl").exists();
        pki = TestPki.create();
        work = pki.workDir("gw");
        admin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        admin.createContext("/", x -> {
            byte[] body = "hello from the admin host\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        admin.start();
        int echo = admin.getAddress().getPort();
        GatewaySettings d = GatewaySettings.defaults();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("admins-to-echo", List.of("admins"),
                List.of(Destination.parse("127.0.0.1/32:" + echo)))));
        GatewaySettings settings = new GatewaySettings("gw-test", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", freePort()), new HostPort("127.0.0.1", freePort()), false,
                        new HostPort("127.0.0.1", freePort())),
                d.tls(), PosturePolicy.defaults(), rules, d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (admin != null) {
            admin.stop(0);
        }
        if (pki != null) {
            pki.close();
        }
    }

    @Test
    void adminDevice_refusedWithoutLease_thenTunnelsAfterPosture() throws Exception {
        PkiService.NewDevice added = pki.service.addDevice("laptop-1", "alice", List.of("admins"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = pki.service.enroll("laptop-1", added.token(), TestCsrs.body(keys, "laptop-1"), "test");
        Path certFile = TestPki.writePem(work.resolve("laptop.crt"), cert);
        Path keyFile = Files.write(work.resolve("laptop.key"), KeyFiles.plainPem(keys.getPrivate()));
        String target = "http://127.0.0.1:" + admin.getAddress().getPort() + "/";

        // no lease yet: the CONNECT is refused with the reason
        Curl refused = curl(certFile, keyFile, target);
        assertThat(refused.exit).as(refused.toString()).isNotZero();
        assertThat(refused.err).as(refused.toString()).contains("< HTTP/1.1 403").containsIgnoringCase("< Postern-Reason: posture.no_lease");

        // posture: challenge, then evidence signed by the device's key
        try (HttpClient client = client(keys, cert)) {
            HttpResponse<String> c = post(client, "/v1/posture/challenge", "");
            assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
            String nonce = JSON.readTree(c.body()).get("nonce").asText();
            String jws = Evidence.sign(claims("laptop-1", nonce, Instant.now()), keys.getPrivate(), cert);
            HttpResponse<String> e = post(client, "/v1/posture/evidence", "{\"evidence\":\"" + jws + "\"}");
            assertThat(e.statusCode()).as(e.body()).isEqualTo(200);
            assertThat(JSON.readTree(e.body()).get("compliant").asBoolean()).as(e.body()).isTrue();
        }

        // with a lease: curl reaches the admin host through the tunnel
        Curl through = curl(certFile, keyFile, target);
        assertThat(through.exit).as(through.toString()).isZero();
        assertThat(through.out).isEqualTo("hello from the admin host\n");
        // curl's tunnel was a session of one flow, started before its 200 and ended when curl left
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(trailTypes())
                .containsSubsequence("session.start", "flow.open", "flow.close", "session.end"));
        assertThat(Files.readString(pki.dataDir.resolve("audit.pub"))).startsWith("-----BEGIN PUBLIC KEY-----");
    }

    /**
     * Issue 11 item 3 over the real path: IPv6 forms carrying loopback are refused with the
     * forbidden reason, and the trail says which IPv4 they carry. The rule names 127.0.0.1 on the
     * echo port, which opens neither the NAT64 nor the IPv4-compatible form of it.
     */
    @Test
    void embeddedLoopbackForms_areRefusedAsForbidden_andAudited() throws Exception {
        PkiService.NewDevice added = pki.service.addDevice("laptop-2", "bob", List.of("admins"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = pki.service.enroll("laptop-2", added.token(), TestCsrs.body(keys, "laptop-2"), "test");
        Path certFile = TestPki.writePem(work.resolve("laptop2.crt"), cert);
        Path keyFile = Files.write(work.resolve("laptop2.key"), KeyFiles.plainPem(keys.getPrivate()));
        try (HttpClient client = client(keys, cert)) {
            String nonce = JSON.readTree(post(client, "/v1/posture/challenge", "").body()).get("nonce").asText();
            String jws = Evidence.sign(claims("laptop-2", nonce, Instant.now()), keys.getPrivate(), cert);
            assertThat(post(client, "/v1/posture/evidence", "{\"evidence\":\"" + jws + "\"}").statusCode()).isEqualTo(200);
        }
        int port = admin.getAddress().getPort();
        List<String> targets = List.of("[::ffff:127.0.0.1]:9", "[64:ff9b::7f00:1]:" + port, "[::127.0.0.1]:" + port);
        for (String t : targets) {
            Curl refused = curl(certFile, keyFile, "http://" + t + "/");
            assertThat(refused.exit).as(refused.toString()).isNotZero();
            assertThat(refused.err).as(refused.toString()).contains("< HTTP/1.1 403")
                    .containsIgnoringCase("< Postern-Reason: access.forbidden_address");
        }
        Curl through = curl(certFile, keyFile, "http://127.0.0.1:" + port + "/");
        assertThat(through.out).as(through.toString()).isEqualTo("hello from the admin host\n");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(trail("access.denied"))
                .hasSize(3)
                .allSatisfy(r -> assertThat(r).contains("access.forbidden_address"))
                .anySatisfy(r -> assertThat(r).contains("loopback 127.0.0.1 carried as NAT64 64:ff9b::/96 (RFC 6052)"))
                .anySatisfy(r -> assertThat(r).contains("loopback 127.0.0.1 carried as IPv4-compatible ::/96 (RFC 4291)"))
                .anySatisfy(r -> assertThat(r).contains("]:9, which is loopback")));
    }

    /** The trail's records of {@code type}, as JSON text. */
    List<String> trail(String type) throws IOException {
        List<String> records = new ArrayList<>();
        try (var files = Files.list(pki.dataDir.resolve("audit/trail"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (JSON.readTree(line).get("type").asText().equals(type)) {
                        records.add(line);
                    }
                }
            }
        }
        return records;
    }

    /** The types of the trail's records, in order. */
    List<String> trailTypes() throws IOException {
        List<String> types = new ArrayList<>();
        try (var files = Files.list(pki.dataDir.resolve("audit/trail"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    types.add(JSON.readTree(line).get("type").asText());
                }
            }
        }
        return types;
    }

    record Curl(int exit, String out, String err) {
    }

    Curl curl(Path cert, Path key, String url) throws Exception {
        Path out = work.resolve("curl.out");
        Path err = work.resolve("curl.err");
        Process p = new ProcessBuilder("curl", "-sS", "-v", "--max-time", "10", "--proxytunnel",
                "--proxy", "https://127.0.0.1:" + gateway.address().getPort(),
                "--proxy-cacert", pki.chainFile().toString(),
                "--proxy-cert", cert.toString(), "--proxy-key", key.toString(), url)
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("curl did not finish in 20 s: " + Files.readString(err));
        }
        return new Curl(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    HttpClient client(KeyPair keys, X509Certificate cert) throws Exception {
        SSLContext ctx = pki.clientTls(keys.getPrivate(), cert);
        return HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }


    HttpResponse<String> post(HttpClient client, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + gateway.address().getPort() + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A patched, encrypted Debian 12 laptop: compliant under the default policy. */
    public static PostureClaims claims(String deviceId, String nonce, Instant now) {
        return PostureClaims.of(nonce, deviceId, now, new AgentInfo("postern-agent", "0.1.0"),
                new PostureClaims.Facts(new OsFacts(OsFacts.LINUX, "debian", "12", null, "6.1.0-18-amd64"),
                        new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null),
                        new PatchFacts(now.minus(Duration.ofDays(2)), 0, null, false),
                        PostureClaims.NATIVE, List.of()));
    }

    public static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }
}
