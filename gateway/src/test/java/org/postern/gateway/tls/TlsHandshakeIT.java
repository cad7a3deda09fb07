package org.postern.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.ssl.OpenSsl;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postern.pki.testing.EchoServer;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.GatewaySettings.Tls.Provider;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.server.GatewayServer;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.MutableClock;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

/**
 * The tunnel listener's client-certificate checks, inside the handshake, as {@code openssl s_client}
 * sees them, for each TLS provider: no certificate is served (a CONNECT gets 401); a certificate
 * from another CA, an expired, a revoked or a suspended one fails the handshake with its
 * {@code tls.rejected} (suspension also cuts the open tunnel and drops the lease); a revocation made by another process on the shared registry (as
 * {@code postern pki device revoke} does) fails the next handshake within 1 s and closes an open
 * tunnel within 2 s; TLS 1.2 only when {@code tls.allowTls12}, and then AEAD suites only.
 */
class TlsHandshakeIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path OPENSSL = Path.of("/usr/bin/openssl");

    /** Started 100 days ago, so a certificate issued at the start has expired by now (90-day lifetime). */
    final MutableClock clock = new MutableClock(Instant.now().minus(Duration.ofDays(100)));
    TestPki pki;
    Path work;
    Device expired;
    EchoServer echo;
    GatewayServer gateway;

    record Device(String id, KeyPair keys, X509Certificate cert, Path certFile, Path keyFile) {
    }

    @BeforeEach
    void setUp() throws Exception {
        assertThat(OPENSSL).as("these tests drive openssl s_client; install openssl").exists();
        pki = TestPki.create(clock);
        work = pki.workDir("tls");
        expired = device(pki.enroll("laptop-old", "carol"));
        clock.set(Instant.now());
        echo = EchoServer.start();
    }

    @AfterEach
    void tearDown() throws IOException {
        if (gateway != null) {
            gateway.close();
        }
        echo.close();
        pki.close();
    }

    GatewayServer start(Provider provider, boolean allowTls12) throws Exception {
        if (provider == Provider.OPENSSL) {
            assertThat(OpenSsl.isAvailable()).as("netty-tcnative BoringSSL must load here: %s", OpenSsl.unavailabilityCause()).isTrue();
        }
        GatewaySettings d = GatewaySettings.defaults();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("staff-to-echo", List.of("staff"),
                List.of(Destination.parse("127.0.0.1/32:" + echo.getLocalPort())))));
        GatewaySettings settings = new GatewaySettings("gw-tls-test", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", freePort()), new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort())),
                new GatewaySettings.Tls(null, null, provider, allowTls12), PosturePolicy.defaults(), rules, d.limits(),
                new GatewaySettings.Audit(auditDir(), GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE), clock, pki.random);
        return gateway;
    }

    @ParameterizedTest
    @EnumSource(value = Provider.class, names = {"OPENSSL", "JDK"})
    void handshake_eachRefusal_failsWithItsAuditEvent(Provider provider) throws Exception {
        Device laptop = device(pki.enroll("laptop-1", "alice"));
        Device stranger;
        try (TestPki elsewhere = TestPki.create()) {
            stranger = device(elsewhere.enroll("laptop-9", "mallory"));
        }
        start(provider, false);

        // no client certificate: served (EST, CRL, OCSP need none); a CONNECT gets 401
        SClient anonymous = sClient(null, "-tls1_3", connect());
        assertThat(anonymous.out()).as(anonymous.toString()).contains("HTTP/1.1 401").containsIgnoringCase("Postern-Reason: tls.client_cert_required");

        // an active device: the handshake succeeds and the CONNECT gets as far as the posture gate
        SClient good = sClient(laptop, "-tls1_3", connect());
        assertThat(good.out()).as(good.toString()).contains("HTTP/1.1 403").containsIgnoringCase("Postern-Reason: posture.no_lease");

        assertRefused(sClient(stranger, "-tls1_3", connect()), alert(provider, "unknown ca"), stranger, "cert.unknown_ca",
                "expected one signed by the device CA");
        assertRefused(sClient(expired, "-tls1_3", connect()), alert(provider, "certificate expired"), expired, "cert.expired",
                ": expired at ");

        // suspended: handshakes refused, the open tunnel cut (how=suspended), the lease dropped
        proveCompliant(laptop);
        try (SSLSocket tunnel = tunnel(laptop)) {
            pki.service.suspend("laptop-1", "test");
            awaitRefused(laptop, alert(provider, "certificate revoked"), "device.suspended",
                    "device laptop-1: expected status active, found suspended");
            assertCut(tunnel);
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(audit("flow.close")).anySatisfy(e -> assertThat(e.path("how").asText()).isEqualTo("suspended")));
        // resumed: accepted again, and its CONNECT needs a fresh posture proof
        pki.service.resume("laptop-1", "test");
        Awaitility.await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> handshakeServes(laptop));
        SClient resumed = sClient(laptop, "-tls1_3", connect());
        assertThat(resumed.out()).as(resumed.toString()).contains("HTTP/1.1 403").containsIgnoringCase("Postern-Reason: posture.no_lease");

        pki.service.revoke("laptop-1", RevocationReason.lost, "test");
        awaitRefused(laptop, alert(provider, "certificate revoked"), "device.revoked",
                "device laptop-1: expected status active, found revoked");
    }

    @ParameterizedTest
    @EnumSource(value = Provider.class, names = {"OPENSSL", "JDK"})
    void revocation_byAnotherProcess_failsNextHandshakeWithin1s_andClosesTunnelWithin2s(Provider provider) throws Exception {
        Device laptop = device(pki.enroll("laptop-1", "alice"));
        start(provider, false);
        proveCompliant(laptop);

        try (SSLSocket tunnel = tunnel(laptop)) {
            OutputStream up = tunnel.getOutputStream();
            InputStream down = tunnel.getInputStream();
            up.write("ping\n".getBytes(StandardCharsets.US_ASCII));
            up.flush();
            assertThat(new String(down.readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("ping\n");

            // another JVM opens registry.db and revokes, as `postern pki device revoke` does;
            // the clock starts when it reports the commit
            long t0 = revokeInAnotherProcess("laptop-1");

            // the next handshakes fail within 1 s (probed with the in-process JDK client: fast enough to measure)
            Awaitility.await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
                    .until(() -> !handshakeServes(laptop));
            Duration refusedAfter = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(refusedAfter).isLessThan(Duration.ofSeconds(1));

            // and the open tunnel is cut within 2 s of the revocation
            assertCut(tunnel);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(audit("flow.close")).anySatisfy(e -> {
                    assertThat(e.path("device").asText()).isEqualTo("laptop-1");
                    assertThat(e.path("how").asText()).isEqualTo("revoked");
                }));
        // openssl s_client agrees
        assertRefused(sClient(laptop, "-tls1_3", connect()), alert(provider, "certificate revoked"), laptop, "device.revoked",
                "found revoked");
    }

    /** Issue 11 item 8: a revoked laptop with no tunnel open kept its connection until its next posture renewal. */
    @ParameterizedTest
    @EnumSource(value = Provider.class, names = {"OPENSSL", "JDK"})
    void idleConnection_ofDeviceSuspendedOrRevoked_isClosedWithin2s(Provider provider) throws Exception {
        Device laptop = device(pki.enroll("laptop-1", "alice"));
        Device other = device(pki.enroll("laptop-2", "bob"));
        start(provider, false);
        try (SSLSocket idle = socket(laptop); SSLSocket bystander = socket(other)) {
            pki.service.suspend("laptop-1", "test");
            long t0 = System.nanoTime();
            assertCut(idle);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
            // another device's connection stays up: it still answers
            bystander.getOutputStream().write(connect().getBytes(StandardCharsets.US_ASCII));
            bystander.getOutputStream().flush();
            assertThat(new String(bystander.getInputStream().readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 403");
        }
        pki.service.resume("laptop-1", "test");
        Awaitility.await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(50)).until(() -> handshakeServes(laptop));
        try (SSLSocket idle = socket(laptop)) {
            pki.service.revoke("laptop-1", RevocationReason.keyCompromise, "test");
            assertCut(idle);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Provider.class, names = {"OPENSSL", "JDK"})
    void tls12_refusedByDefault(Provider provider) throws Exception {
        start(provider, false);
        SClient tls12 = sClient(null, "-tls1_2", connect());
        assertThat(tls12.out()).as(tls12.toString()).doesNotContain("HTTP/1.1").containsPattern("(?i)alert|no protocols|wrong version|unsupported protocol");
        assertThat(sClient(null, "-tls1_3", connect()).out()).contains("HTTP/1.1 401");
    }

    @ParameterizedTest
    @EnumSource(value = Provider.class, names = {"OPENSSL", "JDK"})
    void tls12_allowed_aeadSuitesOnly(Provider provider) throws Exception {
        Device laptop = device(pki.enroll("laptop-1", "alice"));
        start(provider, true);
        SClient tls12 = sClient(laptop, "-tls1_2", connect());
        assertThat(tls12.out()).as(tls12.toString()).contains("Protocol  : TLSv1.2").contains("HTTP/1.1 403");
        SClient cbc = sClient(null, "-tls1_2", connect(), "-cipher", "ECDHE-ECDSA-AES128-SHA");
        assertThat(cbc.out()).as(cbc.toString()).doesNotContain("HTTP/1.1").containsPattern("(?i)alert|handshake failure|no cipher");
        assertThat(sClient(null, "-tls1_3", connect()).out()).contains("HTTP/1.1 401");
    }

    // ---- helpers

    /** The tunnel ends (EOF or reset) within 2 s. */
    static void assertCut(SSLSocket tunnel) throws IOException {
        tunnel.setSoTimeout(2_000);
        int read;
        try {
            read = tunnel.getInputStream().read();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the tunnel was still open 2 s later", e);
        } catch (IOException e) {
            read = -1; // reset: closed too
        }
        assertThat(read).as("the tunnel is closed").isEqualTo(-1);
    }

    /** Runs {@link RevokeMain} in a child JVM; returns {@link System#nanoTime()} when it reported the commit. */
    long revokeInAnotherProcess(String device) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath,
                RevokeMain.class.getName(), pki.dataDir.toString(), device).redirectErrorStream(true).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            StringBuilder seen = new StringBuilder();
            for (String line; (line = out.readLine()) != null; ) {
                if (line.equals("revoked")) {
                    long at = System.nanoTime();
                    assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("revoking child exits").isTrue();
                    return at;
                }
                seen.append(line).append('\n');
            }
            child.waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError("the revoking child process exited " + child.exitValue() + " without revoking:\n" + seen);
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
    }

    /** What s_client printed (stdout and stderr together) and its exit code. */
    record SClient(int exit, String out) {
    }

    String connect() {
        return "CONNECT 127.0.0.1:" + echo.getLocalPort() + " HTTP/1.1\r\nHost: 127.0.0.1:" + echo.getLocalPort()
                + "\r\nConnection: close\r\n\r\n";
    }

    SClient sClient(Device device, String version, String request, String... extra) throws Exception {
        Path in = Files.writeString(Files.createTempFile(work, "req", ".txt"), request);
        Path out = Files.createTempFile(work, "s_client", ".out");
        List<String> cmd = new ArrayList<>(List.of(OPENSSL.toString(), "s_client", "-connect",
                "127.0.0.1:" + gateway.address().getPort(), version, "-CAfile", pki.chainFile().toString(),
                "-verify_return_error", "-ign_eof"));
        if (device != null) {
            cmd.addAll(List.of("-cert", device.certFile().toString(), "-key", device.keyFile().toString()));
        }
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectInput(in.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        if (!p.waitFor(15, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError("openssl s_client did not finish in 15 s: " + Files.readString(out));
        }
        return new SClient(p.exitValue(), Files.readString(out));
    }

    /** The alert s_client reports: BoringSSL names the cause; the JDK says certificate_unknown to all. */
    static String alert(Provider provider, String boringSsl) {
        return "alert " + (provider == Provider.OPENSSL ? boringSsl : "certificate unknown");
    }

    void assertRefused(SClient s, String alert, Device device, String reason, String whyContains) {
        assertThat(s.out()).as(s.toString()).doesNotContain("HTTP/1.1").contains(alert);
        String serial = device.cert().getSerialNumber().toString(16);
        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(audit("tls.rejected")).anySatisfy(e -> {
                    assertThat(e.path("certSerial").asText()).isEqualTo(serial);
                    assertThat(e.path("reason").asText()).isEqualTo(reason);
                    assertThat(e.path("why").asText()).contains(whyContains);
                    assertThat(e.path("subject").asText()).contains("CN=" + device.id());
                    assertThat(e.path("certSha256").asText()).hasSize(64);
                    assertThat(e.path("source").asText()).startsWith("127.0.0.1:");
                }));
    }

    /** Refused within 1 s of the registry change (the view is polled every 200 ms). */
    void awaitRefused(Device device, String alert, String reason, String why) throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
                .until(() -> !handshakeServes(device));
        assertRefused(sClient(device, "-tls1_3", connect()), alert, device, reason, why);
    }

    /** Whether a fresh mTLS connection with this device's certificate gets an HTTP answer. */
    boolean handshakeServes(Device device) {
        try (SSLSocket s = socket(device)) {
            s.setSoTimeout(2_000);
            s.getOutputStream().write("GET /.well-known/est/cacerts HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            byte[] head = s.getInputStream().readNBytes(12);
            return new String(head, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200");
        } catch (Exception e) {
            return false; // alert, reset: refused
        }
    }

    SSLSocket socket(Device device) throws Exception {
        SSLSocket s = (SSLSocket) sslContext(device.keys().getPrivate(), device.cert()).getSocketFactory()
                .createSocket("127.0.0.1", gateway.address().getPort());
        s.setSoTimeout(5_000);
        s.startHandshake();
        return s;
    }

    /** A CONNECT tunnel to the echo server through the gateway, past the 200. */
    SSLSocket tunnel(Device device) throws Exception {
        SSLSocket s = socket(device);
        s.getOutputStream().write(("CONNECT 127.0.0.1:" + echo.getLocalPort() + " HTTP/1.1\r\nHost: 127.0.0.1:"
                + echo.getLocalPort() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        StringBuilder head = new StringBuilder();
        InputStream in = s.getInputStream();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new AssertionError("tunnel closed before the CONNECT answer ended: " + head);
            }
            head.append((char) b);
        }
        assertThat(head.toString()).startsWith("HTTP/1.1 200");
        return s;
    }

    SSLContext sslContext(PrivateKey key, X509Certificate cert) throws Exception {
        return pki.clientTls(key, cert);
    }

    /** Challenge, then evidence signed with the device key: a compliant lease. */
    void proveCompliant(Device device) throws Exception {
        try (HttpClient client = HttpClient.newBuilder().sslContext(sslContext(device.keys().getPrivate(), device.cert()))
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> c = post(client, "/v1/posture/challenge", "");
            assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
            String nonce = JSON.readTree(c.body()).get("nonce").asText();
            Instant now = clock.instant();
            PostureClaims claims = PostureClaims.of(nonce, device.id(), now, new AgentInfo("postern-agent", "0.1.0"),
                    new PostureClaims.Facts(new OsFacts(OsFacts.LINUX, "debian", "12", null, "6.1.0-18-amd64"),
                            new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null),
                            new PatchFacts(now.minus(Duration.ofDays(2)), 0, null, false),
                            PostureClaims.NATIVE, List.of()));
            String jws = Evidence.sign(claims, device.keys().getPrivate(), device.cert());
            HttpResponse<String> e = post(client, "/v1/posture/evidence", "{\"evidence\":\"" + jws + "\"}");
            assertThat(e.statusCode()).as(e.body()).isEqualTo(200);
            assertThat(JSON.readTree(e.body()).get("compliant").asBoolean()).as(e.body()).isTrue();
        }
    }

    HttpResponse<String> post(HttpClient client, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + gateway.address().getPort() + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    Device device(TestPki.Enrolled e) throws IOException {
        Path cert = TestPki.writePem(work.resolve(e.id() + ".crt"), e.certificate());
        Path key = Files.write(work.resolve(e.id() + ".key"), KeyFiles.plainPem(e.keys().getPrivate()));
        return new Device(e.id(), e.keys(), e.certificate(), cert, key);
    }

    Path auditDir() {
        return pki.dataDir.resolve("audit/trail");
    }

    /** The gateway's trail, events of one type, in order. */
    List<JsonNode> audit(String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(auditDir())) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (!line.isBlank()) {
                        JsonNode n = JSON.readTree(line);
                        if (type.equals(n.path("type").asText())) {
                            out.add(n);
                        }
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
