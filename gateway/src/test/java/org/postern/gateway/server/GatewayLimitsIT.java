package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;

/**
 * The assembled gateway over real TLS against bad input and exhaustion: a malformed request line,
 * a head over {@code limits.headerSize}, a client trickling one header byte per second, a body over
 * the limit, 2,000 connections from one address, a full audit disk, and a shutdown with a live
 * tunnel. Each is answered with a status and a reason, audited, and the gateway keeps serving
 * another client meanwhile.
 */
class GatewayLimitsIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration HEADER_TIME = Duration.ofSeconds(2);
    static final int PER_SOURCE = 20;

    TestPki pki;
    GatewayServer gateway;
    Path auditDir;
    Socket echoHost;
    java.net.ServerSocket echo;
    SSLContext anonymous;
    SSLContext device;

    /** Starts a gateway with short limits; {@code audit} may replace the audit settings. */
    void start(UnaryOperator<GatewaySettings.Audit> audit) throws Exception {
        start(audit, HEADER_TIME);
    }

    void start(UnaryOperator<GatewaySettings.Audit> audit, Duration headerTime) throws Exception {
        pki = TestPki.create();
        echo = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!echo.isClosed()) {
                try {
                    Socket s = echo.accept();
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
        GatewaySettings d = GatewaySettings.defaults();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("staff-to-echo", List.of("staff"),
                List.of(Destination.parse("127.0.0.1/32:" + echo.getLocalPort())))));
        GatewaySettings.Audit a = audit.apply(new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"),
                GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1), Duration.ofSeconds(60)));
        auditDir = a.dir();
        GatewaySettings.Limits limits = new GatewaySettings.Limits(DataSize.ofKiB(4), headerTime,
                d.limits().idleTimeout(), d.limits().streamsPerConnection(), PER_SOURCE, d.limits().flowsPerDevice());
        GatewaySettings settings = new GatewaySettings("gw-limits", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", GatewayServerIT.freePort()), new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort())),
                d.tls(), PosturePolicy.defaults(), rules, limits, a);
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));
        anonymous = CompliantLaptop.tls(pki, null, null);
    }

    @AfterEach
    void stop() throws IOException {
        if (gateway != null) {
            gateway.close();
        }
        if (echo != null) {
            echo.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    // ---- bad input --------------------------------------------------------------------------------

    @Test
    void malformedRequestLine_is400_requestLineTooLong_is414_auditedAndClosed_nextClientServed() throws Exception {
        start(UnaryOperator.identity());
        try (SSLSocket bad = open(anonymous, InetAddress.getLoopbackAddress())) {
            Answer answer = exchange(bad, "NOT AN HTTP REQUEST LINE\r\n\r\n");
            assertThat(answer.status()).isEqualTo(400);
            assertThat(answer.reason()).isEqualTo("http.bad_request");
            assertThat(readToEnd(bad)).as("closed after the 400").isTrue();
        }
        try (SSLSocket longLine = open(anonymous, InetAddress.getLoopbackAddress())) {
            Answer answer = exchange(longLine, "GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: gw\r\n\r\n");
            assertThat(answer.status()).isEqualTo(414);
            assertThat(answer.reason()).isEqualTo("limits.request_line");
        }
        try (SSLSocket other = open(anonymous, InetAddress.getLoopbackAddress())) {
            assertThat(cacerts(other)).isEqualTo(200);
        }
        awaitRecord("http.denied", "limits.request_line");
        JsonNode denied = awaitRecord("http.denied", "http.bad_request");
        assertThat(denied.get("detail").asText()).contains("expected an HTTP/1.1 request");
        assertThat(denied.get("source").asText()).startsWith("127.0.0.1:");
    }

    @Test
    void headerOverLimit_is431Audited_nextClientServed() throws Exception {
        start(UnaryOperator.identity());
        try (SSLSocket big = open(anonymous, InetAddress.getLoopbackAddress())) {
            Answer answer = exchange(big,
                    "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: gw\r\nX-Padding: " + "a".repeat(8 * 1024) + "\r\n\r\n");
            assertThat(answer.status()).isEqualTo(431);
            assertThat(answer.reason()).isEqualTo("limits.header_size");
        }
        try (SSLSocket other = open(anonymous, InetAddress.getLoopbackAddress())) {
            assertThat(cacerts(other)).isEqualTo(200);
        }
        assertThat(awaitRecord("http.denied", "limits.header_size").get("detail").asText())
                .contains("over 4096 bytes (limits.headerSize)");
    }

    @Test
    void slowClient_oneHeaderBytePerSecond_gets408WithinHeaderTime_whileAnotherClientIsServed() throws Exception {
        start(UnaryOperator.identity());
        SSLSocket slow = open(anonymous, InetAddress.getLoopbackAddress());
        slow.startHandshake();
        long t0 = System.nanoTime();
        OutputStream out = slow.getOutputStream();
        out.write("GET /.well-known/est/cacerts HTTP/1.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        // one byte a second, at most ten: the gateway must cut it long before the head could end
        Thread trickle = Thread.ofVirtual().start(() -> {
            try {
                for (int i = 0; i < 10; i++) {
                    Thread.sleep(1000);
                    out.write('a');
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // closed by the gateway
            }
        });
        try (SSLSocket other = open(anonymous, InetAddress.getLoopbackAddress())) {
            assertThat(cacerts(other)).isEqualTo(200); // served while the slow one trickles
        }
        Answer answer = readAnswer(slow);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(answer.status()).isEqualTo(408);
        assertThat(answer.reason()).isEqualTo("limits.header_time");
        assertThat(took).isLessThan(HEADER_TIME.plusSeconds(3));
        assertThat(readToEnd(slow)).as("closed after the 408").isTrue();
        trickle.join(Duration.ofSeconds(12));
        slow.close();
        assertThat(awaitRecord("http.denied", "limits.header_time").get("detail").asText())
                .contains("2000 ms (limits.headerTime)");
    }

    /**
     * Regression: the 408 of a connection that never finished its TLS handshake waited behind the
     * handshake, so the connection stayed until SslHandler's own 10 s handshake timeout.
     */
    @Test
    void silentClient_noTlsHandshake_closedAtHeaderTimeAndAudited() throws Exception {
        start(UnaryOperator.identity());
        long t0 = System.nanoTime();
        try (Socket silent = new Socket(gateway.address().getAddress(), gateway.address().getPort())) {
            assertThat(readToEnd(silent)).isTrue();
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(HEADER_TIME.plusSeconds(3));
        assertThat(awaitRecord("http.denied", "limits.header_time").get("detail").asText())
                .contains("TLS handshake not complete within 2000 ms");
    }

    @Test
    void bodyOverLimit_is413Audited() throws Exception {
        start(UnaryOperator.identity());
        Answer answer = exchange(open(anonymous, InetAddress.getLoopbackAddress()), // closed by the gateway
                "POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: gw\r\nContent-Type: application/pkcs10\r\n"
                        + "Content-Length: 1048576\r\n\r\n");
        assertThat(answer.status()).isEqualTo(413);
        JsonNode denied = awaitRecord("http.denied", "http.too_large");
        assertThat(denied.get("detail").asText()).contains("POST /.well-known/est/simpleenroll", "Content-Length: 1048576");
    }

    @Test
    void connectionFlood_2000AttemptsFromOneAddress_refusedOverTheLimitAuditedOnce_otherSourceServed() throws Exception {
        start(UnaryOperator.identity(), Duration.ofMinutes(1)); // the held connections stay for the whole loop
        InetAddress flooder = InetAddress.getLoopbackAddress();
        InetAddress other = InetAddress.getByName("127.0.0.2");
        List<Socket> held = new ArrayList<>();
        int refused = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try {
            for (int i = 0; i < 2000 && System.nanoTime() < deadline; i++) {
                if (held.size() < PER_SOURCE) { // these fill the source's slots, handshaken and kept open
                    SSLSocket s = open(anonymous, flooder);
                    s.startHandshake();
                    held.add(s);
                    continue;
                }
                Socket s = new Socket();
                s.bind(new InetSocketAddress(flooder, 0));
                s.connect(gateway.address(), 2000);
                s.setSoTimeout(5000);
                try (s) {
                    if (s.getInputStream().read() < 0) {
                        refused++;
                    }
                } catch (SocketException e) {
                    refused++; // reset: closed at once
                }
            }
            assertThat(refused).as("attempts over limits.connectionsPerSource closed at once").isEqualTo(2000 - PER_SOURCE);
            // the other source gets its answer while this one is at its limit
            try (SSLSocket s = open(anonymous, other)) {
                assertThat(cacerts(s)).isEqualTo(200);
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        List<JsonNode> denied = records("connection.denied");
        assertThat(denied).as("audited once per burst, not per connection").hasSizeBetween(1, 3);
        assertThat(denied.getFirst().get("reason").asText()).isEqualTo("limits.connections_per_source");
        assertThat(denied.getFirst().get("source").asText()).isEqualTo("127.0.0.1");
        // the source's connections closed: it is served again
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            try (SSLSocket s = open(anonymous, flooder)) {
                assertThat(cacerts(s)).isEqualTo(200);
            }
        });
    }

    // ---- sessions on the assembled gateway ----------------------------------------------------------

    @Test
    void shutdown_withLiveTunnel_endsTheSessionGatewayShutdownBeforeTheTrailCloses() throws Exception {
        start(UnaryOperator.identity());
        enrollAndProvePosture();
        SSLSocket tunnel = open(device, InetAddress.getLoopbackAddress());
        Answer a = exchange(tunnel, "CONNECT 127.0.0.1:" + echo.getLocalPort() + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(a.status()).isEqualTo(200);
        tunnel.getOutputStream().write('x');
        assertThat(tunnel.getInputStream().read()).isEqualTo('x');
        assertThat(gateway.sessions().sessions()).hasSize(1);

        gateway.close();
        gateway = null;
        assertThat(readToEnd(tunnel)).isTrue();
        List<JsonNode> trail = records(null);
        List<String> types = trail.stream().map(r -> r.get("type").asText()).toList();
        assertThat(types).containsSubsequence("session.start", "flow.open", "flow.close", "session.end", "audit.checkpoint");
        JsonNode end = records("session.end").getFirst();
        assertThat(end.get("reason").asText()).isEqualTo("gateway_shutdown");
        assertThat(end.get("bytesUp").asLong()).isEqualTo(1);
        assertThat(trail.getLast().get("type").asText()).isEqualTo("audit.checkpoint");
        assertThat(trail.getLast().get("reason").asText()).isEqualTo("shutdown");
    }

    @Test
    void auditDiskFull_refusesNewSessions503_staysAlive_resumesWhenSpaceReturns() throws Exception {
        assertThat(System.getProperty("user.name")).as("this test mounts a tmpfs: it must run as root").isEqualTo("root");
        assertThat(Path.of("/bin/mount")).as("this test needs mount(8) (util-linux)").exists();
        Path mnt = Files.createTempDirectory("postern-audit-tmpfs");
        run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt.toString());
        try {
            start(a -> new GatewaySettings.Audit(mnt.resolve("trail"), GatewaySettings.Audit.FailMode.CLOSED,
                    DataSize.ofMiB(1), Duration.ofSeconds(60)));
            enrollAndProvePosture();
            Path filler = mnt.resolve("filler");
            long free = Files.getFileStore(mnt).getUsableSpace();
            Files.write(filler, new byte[(int) (free - 512 * 1024)]); // leave less than audit.minFree
            assertThat(Files.getFileStore(mnt).getUsableSpace()).isLessThan(1024 * 1024);

            Answer refused = exchange(open(device, InetAddress.getLoopbackAddress()),
                    "CONNECT 127.0.0.1:" + echo.getLocalPort() + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.reason()).isEqualTo("audit.unavailable");
            assertThat(gateway.sessions().sessions()).isEmpty();
            try (SSLSocket s = open(anonymous, InetAddress.getLoopbackAddress())) {
                assertThat(cacerts(s)).as("still alive").isEqualTo(200);
            }

            Files.delete(filler); // space returns: the gateway resumes by itself
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                SSLSocket s = open(device, InetAddress.getLoopbackAddress());
                try (s) {
                    Answer ok = exchange(s, "CONNECT 127.0.0.1:" + echo.getLocalPort() + " HTTP/1.1\r\nHost: x\r\n\r\n");
                    assertThat(ok.status()).isEqualTo(200);
                }
            });
            assertThat(records("session.start")).isNotEmpty();
        } finally {
            if (gateway != null) {
                gateway.close();
                gateway = null;
            }
            run("umount", mnt.toString());
            Files.deleteIfExists(mnt);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** Enrolls laptop-1 (alice, staff) and gets it a compliant lease; {@link #device} then speaks for it. */
    void enrollAndProvePosture() throws Exception {
        device = CompliantLaptop.enroll(pki, gateway);
    }

    /** A TLS connection to the gateway from the given local address. */
    SSLSocket open(SSLContext ctx, InetAddress from) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(gateway.address().getAddress(),
                gateway.address().getPort(), from, 0);
        s.setSoTimeout(10_000);
        return s;
    }

    /** GET /.well-known/est/cacerts (no client certificate needed): the status. */
    static int cacerts(SSLSocket s) throws IOException {
        return exchange(s, "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: gw\r\n\r\n").status();
    }

    record Answer(int status, Map<String, String> headers) {
        String reason() {
            return headers.get("postern-reason");
        }
    }

    static Answer exchange(Socket s, String request) throws IOException {
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return readAnswer(s);
    }

    /** Reads a response head and, when it has a Content-Length, its body. */
    static Answer readAnswer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new AssertionError("connection closed before the answer's head ended: " + head);
            }
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                break;
            }
        }
        String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        String length = headers.get("content-length");
        if (length != null) {
            in.readNBytes(Integer.parseInt(length));
        }
        return new Answer(Integer.parseInt(lines[0].split(" ")[1]), headers);
    }

    static boolean readToEnd(Socket s) throws IOException {
        s.setSoTimeout(5000);
        try {
            s.getInputStream().readAllBytes();
            return true;
        } catch (SocketException e) {
            return true; // reset
        }
    }

    /** The trail's records of a type (all when null), in order. */
    List<JsonNode> records(String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(auditDir)) {
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

    JsonNode awaitRecord(String type, String reason) {
        return await().atMost(Duration.ofSeconds(5)).until(() -> records(type).stream()
                .filter(r -> reason.equals(r.path("reason").asText())).findFirst().orElse(null), r -> r != null);
    }

    static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in 20 s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(String.join(" ", command) + ": " + out).isZero();
    }
}
