package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.TransportChoice;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.ProxyProtocol;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.session.SessionInfo;
import org.postern.pki.PkiService;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.Evidence;
import org.postern.tls.TlsContexts;

/**
 * Issue 14: the gateway behind a real HAProxy ({@code mode tcp}, {@code send-proxy-v2}) on
 * loopback. The tunnel and SSH listeners trust 127.0.0.1 only (HAProxy's side of its connections
 * to them); clients connect from 127.0.0.1 or 127.0.0.2, and the audit trail must name the client,
 * never HAProxy, and refuse a PROXY header from anyone else.
 */
class ProxyProtocolIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final InetAddress UNTRUSTED = address("127.0.0.2");
    /** {@code ssh.authTimeout}, the least allowed: it also bounds the wait for a trusted proxy's header. */
    static final Duration AUTH_TIMEOUT = Duration.ofSeconds(5);

    TestPki pki;
    GatewayServer gateway;
    HostPort tunnel;
    HostPort ssh;
    Path trail;
    Process haproxy;
    int haproxyTunnel;
    int haproxySsh;

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create();
        trail = pki.dataDir.resolve("audit/trail");
        GatewaySettings d = GatewaySettings.defaults();
        tunnel = new HostPort("127.0.0.1", GatewayServerIT.freePort());
        ssh = new HostPort("127.0.0.1", GatewayServerIT.freePort());
        ProxyProtocol.Listener loopback = new ProxyProtocol.Listener(List.of(Network.parse("127.0.0.1/32")));
        GatewaySettings.Ssh sshDefaults = GatewaySettings.Ssh.defaults(pki.dataDir);
        GatewaySettings settings = new GatewaySettings("gw-proxy", pki.dataDir,
                new GatewaySettings.Listeners(tunnel, new HostPort("127.0.0.1", GatewayServerIT.freePort()), false, ssh),
                new GatewaySettings.Tls(null, null, GatewaySettings.Tls.Provider.JDK, false), PosturePolicy.defaults(),
                new AccessRules(List.of(new AccessRules.Rule("staff", List.of("staff"),
                        List.of(Destination.parse("127.0.0.1/32:1-65535"))))), d.limits(), new GatewaySettings.Audit(trail, GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)),
                new GatewaySettings.Ssh(sshDefaults.hostKey(), null, AUTH_TIMEOUT, sshDefaults.maxAuthTries()),
                GatewaySettings.Pki.defaults(tunnel), TransportChoice.AUTO,
                GatewaySettings.Vpn.disabled(tunnel),
                new ProxyProtocol(loopback, loopback, ProxyProtocol.DEFAULT_HEADER_TIME, false));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));
        haproxy = startHaproxy();
    }

    @AfterEach
    void stop() throws Exception {
        if (haproxy != null) {
            haproxy.destroy(); // by its PID: the process this test started
            if (!haproxy.waitFor(10, TimeUnit.SECONDS)) {
                haproxy.destroyForcibly();
            }
        }
        if (gateway != null) {
            gateway.close();
        }
        pki.close();
    }

    @Test
    void tlsThroughHaproxy_auditNamesTheClientsAddressAndPort() throws Exception {
        try (SSLSocket s = tls(new Socket(), "127.0.0.1", haproxyTunnel, null)) {
            int clientPort = s.getLocalPort();
            assertThat(connect(s)).startsWith("HTTP/1.1 401");
            JsonNode denied = awaitRecord("access.denied", "tls.client_cert_required");
            assertThat(denied.path("source").asText()).isEqualTo("127.0.0.1:" + clientPort);
        }
    }

    @Test
    void deviceThroughHaproxy_postureSessionAndSessionListNameTheLaptop() throws Exception {
        // enrolled laptop-1 proves its posture through HAProxy from 127.0.0.2, then opens a tunnel through it
        PkiService.NewDevice added = pki.service.addDevice("laptop-1", "alice", List.of("staff"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = pki.service.enroll("laptop-1", added.token(), TestCsrs.body(keys, "laptop-1"), "test");
        SSLContext device = CompliantLaptop.tls(pki, keys, cert);
        try (HttpClient client = HttpClient.newBuilder().sslContext(device).version(HttpClient.Version.HTTP_1_1)
                .localAddress(UNTRUSTED).connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> c = post(client, "/v1/posture/challenge", "");
            assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
            String nonce = JSON.readTree(c.body()).get("nonce").asText();
            String jws = Evidence.sign(GatewayServerIT.claims("laptop-1", nonce, Instant.now()), keys.getPrivate(), cert);
            HttpResponse<String> e = post(client, "/v1/posture/evidence", "{\"evidence\":\"" + jws + "\"}");
            assertThat(JSON.readTree(e.body()).get("compliant").asBoolean()).as(e.body()).isTrue();
        }
        assertThat(awaitRecord("posture.decision", null).path("source").asText()).startsWith("127.0.0.2:");

        try (ServerSocket admin = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Socket raw = new Socket();
            raw.bind(new InetSocketAddress(UNTRUSTED, 0));
            raw.connect(new InetSocketAddress("127.0.0.1", haproxyTunnel), 5_000);
            try (SSLSocket s = (SSLSocket) device.getSocketFactory().createSocket(raw, "127.0.0.1", haproxyTunnel, true)) {
                s.setSoTimeout(10_000);
                String dest = "127.0.0.1:" + admin.getLocalPort();
                s.getOutputStream().write(("CONNECT " + dest + " HTTP/1.1\r\nHost: " + dest + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                assertThat(head(s)).startsWith("HTTP/1.1 200");
                String laptop = "127.0.0.2:" + raw.getLocalPort();
                assertThat(awaitRecord("session.start", null).path("source").asText()).isEqualTo(laptop);
                assertThat(gateway.sessions().sessions()).extracting(SessionInfo::source).containsExactly(laptop);
            }
        }
    }

    @Test
    void curlThroughHaproxy_auditNamesCurlsAddressAndPort() throws Exception {
        // curl as a laptop's HTTPS proxy client, without a device certificate: the CONNECT is refused 401
        Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "20", "--local-port", "41000-41999",
                "--proxytunnel", "--proxy", "https://127.0.0.1:" + haproxyTunnel, "--proxy-cacert", pki.chainFile().toString(),
                "-o", "/dev/null", "-w", "%{local_port}", "http://127.0.0.1:9/")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String localPort = new String(curl.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(curl.exitValue()).as("curl's CONNECT is refused").isNotZero();
        JsonNode denied = awaitRecord("access.denied", "tls.client_cert_required");
        String source = denied.path("source").asText();
        assertThat(source).startsWith("127.0.0.1:");
        int port = Integer.parseInt(source.substring("127.0.0.1:".length()));
        assertThat(port).as("curl's own port (--local-port), not HAProxy's").isBetween(41000, 41999);
        if (!localPort.isEmpty() && !localPort.equals("0")) {
            assertThat(port).isEqualTo(Integer.parseInt(localPort));
        }
    }

    @Test
    void spoofedHeaderFromTrustedAddress_isHonouredInTheAuditRecord() throws Exception {
        Socket raw = new Socket();
        raw.bind(new InetSocketAddress("127.0.0.1", 0));
        raw.connect(tunnel.socketAddress(), 5_000);
        raw.getOutputStream().write(header("203.0.113.7", 50123));
        try (SSLSocket s = tls(raw, tunnel.host(), tunnel.port(), raw)) {
            assertThat(connect(s)).startsWith("HTTP/1.1 401");
        }
        JsonNode denied = awaitRecord("access.denied", "tls.client_cert_required");
        assertThat(denied.path("source").asText()).isEqualTo("203.0.113.7:50123");
    }

    @Test
    void sameHeaderFromUntrustedAddress_isRefusedAndAudited() throws Exception {
        int port;
        try (Socket raw = new Socket()) {
            raw.bind(new InetSocketAddress(UNTRUSTED, 0));
            port = raw.getLocalPort();
            raw.connect(tunnel.socketAddress(), 5_000);
            raw.setSoTimeout(10_000);
            raw.getOutputStream().write(header("203.0.113.7", 50123));
            assertThat(raw.getInputStream().read()).as("the gateway closes the connection").isEqualTo(-1);
        }
        JsonNode denied = awaitRecord("connection.denied", "proxy.untrusted");
        assertThat(denied.path("source").asText()).isEqualTo("127.0.0.2:" + port);
        assertThat(denied.path("listener").asText()).isEqualTo("tunnel");
        assertThat(records("access.denied")).as("no request from it was read").isEmpty();
    }

    @Test
    void directConnectionFromUntrustedAddress_isServedAsItself() throws Exception {
        Socket raw = new Socket();
        raw.bind(new InetSocketAddress(UNTRUSTED, 0));
        try (SSLSocket s = tls(raw, tunnel.host(), tunnel.port(), null)) {
            int clientPort = s.getLocalPort();
            assertThat(connect(s)).startsWith("HTTP/1.1 401");
            assertThat(awaitRecord("access.denied", "tls.client_cert_required").path("source").asText())
                    .isEqualTo("127.0.0.2:" + clientPort);
        }
    }

    @Test
    void sshThroughHaproxy_bastionRecordNamesTheClient() throws Exception {
        // OpenSSH from 127.0.0.2 to HAProxy; HAProxy reaches the bastion from 127.0.0.1. Without a Postern
        // certificate the bastion refuses it, and its record must name 127.0.0.2.
        Process client = new ProcessBuilder("ssh", "-b", "127.0.0.2", "-p", Integer.toString(haproxySsh),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "PreferredAuthentications=publickey", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null",
                "-o", "ConnectTimeout=10", "-F", "/dev/null", "alice@127.0.0.1", "true")
                .redirectErrorStream(true).start();
        String out = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(client.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(client.exitValue()).as(out).isNotZero();
        assertThat(out).contains("Permission denied");
        JsonNode denied = awaitRecord("access.denied", "ssh.not_authenticated");
        assertThat(denied.path("source").asText()).startsWith("127.0.0.2:");
    }

    @Test
    void sshHeaderFromUntrustedAddress_isRefusedAndAudited() throws Exception {
        try (Socket raw = new Socket()) {
            raw.bind(new InetSocketAddress(UNTRUSTED, 0));
            raw.connect(ssh.socketAddress(), 5_000);
            raw.setSoTimeout(10_000);
            raw.getOutputStream().write(header("203.0.113.7", 50123));
            raw.getOutputStream().write("SSH-2.0-test\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = raw.getInputStream();
            while (in.read() >= 0) {
                // the server's identification, then the close
            }
        }
        JsonNode denied = awaitRecord("connection.denied", "proxy.untrusted");
        assertThat(denied.path("listener").asText()).isEqualTo("ssh");
        assertThat(denied.path("source").asText()).startsWith("127.0.0.2:");
        assertThat(records("access.denied")).as("a refused connection has one record").isEmpty();
    }

    @Test
    void sshFromTrustedAddressWithoutHeader_isRefusedAndAudited() throws Exception {
        try (Socket raw = new Socket()) {
            raw.bind(new InetSocketAddress("127.0.0.1", 0));
            raw.connect(ssh.socketAddress(), 5_000);
            raw.setSoTimeout(10_000);
            raw.getOutputStream().write("SSH-2.0-OpenSSH_9.9\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = raw.getInputStream();
            while (in.read() >= 0) {
                // the server's identification, then the close
            }
        }
        JsonNode denied = awaitRecord("connection.denied", "proxy.required");
        assertThat(denied.path("listener").asText()).isEqualTo("ssh");
        assertThat(denied.path("detail").asText()).isEqualTo("expected a PROXY protocol v2 header first from this trusted"
                + " proxy (HAProxy send-proxy-v2), found no header");
    }

    @Test
    void sshFromTrustedAddressStallingMidHeader_isAuditedAtAuthTimeout() throws Exception {
        // review of the PROXY v2 merge: half a header, then silence, was taken for a health check and left no record
        byte[] header = header("203.0.113.7", 50123);
        long start = System.nanoTime();
        try (Socket raw = new Socket()) {
            raw.bind(new InetSocketAddress("127.0.0.1", 0));
            raw.connect(ssh.socketAddress(), 5_000);
            raw.setSoTimeout((int) AUTH_TIMEOUT.multipliedBy(4).toMillis());
            raw.getOutputStream().write(header, 0, header.length / 2);
            raw.getOutputStream().flush();
            InputStream in = raw.getInputStream();
            while (in.read() >= 0) {
                // the server's identification, then the close at ssh.authTimeout
            }
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("closed by ssh.authTimeout, not before")
                .isGreaterThanOrEqualTo(AUTH_TIMEOUT.minusMillis(100));
        JsonNode denied = awaitRecord("connection.denied", "proxy.header_time");
        assertThat(denied.path("listener").asText()).isEqualTo("ssh");
        assertThat(denied.path("source").asText()).startsWith("127.0.0.1:");
        assertThat(denied.path("detail").asText()).isEqualTo("expected a whole PROXY v2 header within ssh.authTimeout"
                + " (5000 ms) of the trusted proxy's connection, found " + header.length / 2 + " bytes of one when the"
                + " connection ended");
        assertThat(records("connection.denied")).as("one record for the connection").hasSize(1);
        assertThat(records("access.denied")).isEmpty();
    }

    @Test
    void trustedProxysTcpHealthChecks_leaveNoRecord() throws Exception {
        for (HostPort listener : List.of(tunnel, ssh)) {
            try (Socket check = new Socket()) { // HAProxy's plain "check": connect, then close
                check.bind(new InetSocketAddress("127.0.0.1", 0));
                check.connect(listener.socketAddress(), 5_000);
            }
        }
        // a refused header afterwards shows that the trail has caught up with both checks
        sameHeaderFromUntrustedAddress_isRefusedAndAudited();
        assertThat(records("access.denied")).isEmpty();
        assertThat(records("connection.denied")).extracting(n -> n.path("reason").asText()).containsExactly("proxy.untrusted");
    }

    // ---- helpers ----

    /** HAProxy in the foreground on two free ports, in front of the tunnel and SSH listeners. */
    Process startHaproxy() throws Exception {
        Path bin = Path.of("/usr/sbin/haproxy");
        assertThat(Files.isExecutable(bin)).as("install Debian package haproxy (expected " + bin + ")").isTrue();
        haproxyTunnel = GatewayServerIT.freePort();
        haproxySsh = GatewayServerIT.freePort();
        Path cfg = pki.dataDir.resolve("haproxy.cfg");
        Files.writeString(cfg, """
                global
                    maxconn 100
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                listen tunnel
                    bind 127.0.0.1:%d
                    server gw 127.0.0.1:%d send-proxy-v2
                listen ssh
                    bind 127.0.0.1:%d
                    server bastion 127.0.0.1:%d send-proxy-v2
                """.formatted(haproxyTunnel, tunnel.port(), haproxySsh, ssh.port()));
        Process p = new ProcessBuilder(bin.toString(), "-f", cfg.toString(), "-db")
                .redirectErrorStream(true).redirectOutput(pki.dataDir.resolve("haproxy.log").toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                // the tunnel frontend: HAProxy's connection for it leaves no record at the gateway
                s.connect(new InetSocketAddress("127.0.0.1", haproxyTunnel), 1_000);
                break;
            } catch (IOException e) {
                assertThat(p.isAlive()).as("haproxy exited: " + Files.readString(pki.dataDir.resolve("haproxy.log"))).isTrue();
                assertThat(System.nanoTime()).as("haproxy listening within 10 s").isLessThan(deadline);
                Thread.sleep(50);
            }
        }
        return p;
    }

    /** A PROXY v2 header as HAProxy sends it, naming {@code source}:{@code port} over TCP/IPv4. */
    static byte[] header(String source, int port) {
        EmbeddedChannel encoder = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        encoder.writeOutbound(new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY,
                HAProxyProxiedProtocol.TCP4, source, "127.0.0.1", port, 8443));
        ByteBuf out = encoder.readOutbound();
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        out.release();
        encoder.finishAndReleaseAll();
        return bytes;
    }

    /** TLS without a client certificate over {@code raw} (connected to host:port when {@code over} is null). */
    SSLSocket tls(Socket raw, String host, int port, Socket over) throws IOException {
        SSLContext ctx = TlsContexts.client().trust(List.of(pki.ca.root())).jdk();
        if (over == null) {
            if (!raw.isBound()) {
                raw.bind(new InetSocketAddress("127.0.0.1", 0));
            }
            raw.connect(new InetSocketAddress(host, port), 5_000);
        }
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, host, port, true);
        s.setSoTimeout(10_000);
        return s;
    }

    /** A CONNECT without a certificate (refused 401, audited with its source); the answer's status line. */
    static String connect(SSLSocket s) throws IOException {
        s.getOutputStream().write("CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        StringBuilder head = new StringBuilder();
        InputStream in = s.getInputStream();
        for (int c; (c = in.read()) >= 0 && !head.toString().endsWith("\r\n"); ) {
            head.append((char) c);
        }
        return head.toString();
    }

    HttpResponse<String> post(HttpClient client, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + haproxyTunnel + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** An HTTP/1.1 answer's head, not a byte more (after a 200 to a CONNECT the tunnel is quiet). */
    static String head(SSLSocket s) throws IOException {
        StringBuilder head = new StringBuilder();
        InputStream in = s.getInputStream();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            head.append((char) c);
        }
        return head.toString();
    }

    /** The first record of {@code type} (with {@code reason}, unless null), waiting up to 10 s for the trail. */
    JsonNode awaitRecord(String type, String reason) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode n : records(type)) {
                if (reason == null || n.path("reason").asText().equals(reason)) {
                    return n;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no " + type + " " + reason + " within 10 s; the trail: " + lines());
    }

    List<JsonNode> records(String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : lines()) {
            JsonNode n = JSON.readTree(l);
            if (n.path("type").asText().equals(type)) {
                out.add(n);
            }
        }
        return out;
    }

    List<String> lines() throws IOException {
        List<String> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(trail)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d+\\.jsonl")).sorted().toList()) {
                all.addAll(Files.readAllLines(f));
            }
        }
        return all;
    }

    static InetAddress address(String literal) {
        return InetAddress.ofLiteral(literal);
    }
}
