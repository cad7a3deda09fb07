package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.testing.H2Client;
import org.postern.pki.PkiService;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.Evidence;

/**
 * The assembled gateway over HTTP/2: ALPN h2 with both TLS providers, an independent client
 * (hyper-h2) with the device's certificate, many CONNECT streams on one connection, the same
 * gates and the same EST/posture endpoints as on HTTP/1.1, and the stream limit.
 */
class Http2GatewayIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int STREAM_LIMIT = 4;
    /** RST_STREAM error codes (RFC 9113 §7). */
    static final int NO_ERROR = 0, PROTOCOL_ERROR = 1, REFUSED_STREAM = 7;

    TestPki pki;
    HttpServer web;
    ServerSocket echo;
    final List<Socket> echoed = new CopyOnWriteArrayList<>();
    GatewayServer gateway;
    Path work;
    KeyPair keys;
    X509Certificate cert;
    Path certFile;
    Path keyFile;

    void start(GatewaySettings.Tls.Provider provider) throws Exception {
        pki = TestPki.create();
        work = pki.workDir("gw-h2");
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", x -> {
            byte[] body = "hello from the admin host\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        web.start();
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::serveEcho);
        GatewaySettings d = GatewaySettings.defaults();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("admins", List.of("admins"), List.of(
                Destination.parse("127.0.0.1/32:" + echo.getLocalPort()),
                Destination.parse("127.0.0.1/32:" + web.getAddress().getPort()),
                Destination.parse("0.0.0.0/0:1-65535")))));
        GatewaySettings.Limits l = d.limits();
        GatewaySettings settings = new GatewaySettings("gw-h2-test", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", GatewayServerIT.freePort()), new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort())),
                new GatewaySettings.Tls(null, null, provider, false), PosturePolicy.defaults(), rules,
                new GatewaySettings.Limits(l.headerSize(), l.headerTime(), l.idleTimeout(), STREAM_LIMIT,
                        l.connectionsPerSource(), l.flowsPerDevice()),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));

        PkiService.NewDevice added = pki.service.addDevice("laptop-1", "alice", List.of("admins"), null, null, "test");
        keys = TestCsrs.p256();
        cert = pki.service.enroll("laptop-1", added.token(), TestCsrs.body(keys, "laptop-1"), "test");
        certFile = TestPki.writePem(work.resolve("laptop.crt"), cert);
        keyFile = Files.write(work.resolve("laptop.key"), KeyFiles.plainPem(keys.getPrivate()));
    }

    /** Echoes what it reads; at the end of input, ends its output. */
    private void serveEcho() {
        while (!echo.isClosed()) {
            try {
                Socket s = echo.accept();
                echoed.add(s);
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        InputStream in = s.getInputStream();
                        OutputStream out = s.getOutputStream();
                        byte[] buf = new byte[16 * 1024];
                        for (int n; (n = in.read(buf)) >= 0; ) {
                            out.write(buf, 0, n);
                        }
                        s.shutdownOutput();
                    } catch (IOException e) {
                        // the gateway closed the flow
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    @AfterEach
    void stop() throws IOException {
        if (gateway != null) {
            gateway.close();
        }
        if (web != null) {
            web.stop(0);
        }
        if (echo != null) {
            echo.close();
            for (Socket s : echoed) {
                s.close();
            }
        }
        if (pki != null) {
            pki.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GatewaySettings.Tls.Provider.class, names = {"OPENSSL", "JDK"})
    void h2_refusedWithoutLease_thenParallelConnectStreamsAfterPostureOverH2(GatewaySettings.Tls.Provider provider)
            throws Exception {
        start(provider);
        String echoAt = "127.0.0.1:" + echo.getLocalPort();

        // no lease: 403 with the reason, the stream ended, then reset NO_ERROR
        H2Client.Result refused = H2Client.run(plan(connect(echoAt, 10)));
        assertThat(refused.alpn()).isEqualTo("h2");
        assertThat(refused.settings()).containsEntry("maxConcurrentStreams", STREAM_LIMIT);
        H2Client.Stream r = refused.stream(0);
        assertThat(r.status()).as(r.toString()).isEqualTo(403);
        assertThat(r.reason()).isEqualTo("posture.no_lease");
        assertThat(r.ended()).as(r.toString()).isTrue();

        // posture: the challenge over h2 (hyper-h2), the evidence over h2 (the JDK's client)
        H2Client.Result challenge = H2Client.run(plan(Map.of("method", "POST", "path", "/v1/posture/challenge",
                "headers", Map.of("content-type", "application/json"))));
        H2Client.Stream c = challenge.stream(0);
        assertThat(c.status()).as(c.toString()).isEqualTo(200);
        String nonce = JSON.readTree(c.text()).get("nonce").asText();
        try (HttpClient client = jdkH2Client()) {
            String jws = Evidence.sign(GatewayServerIT.claims("laptop-1", nonce, Instant.now()), keys.getPrivate(), cert);
            HttpResponse<String> e = client.send(HttpRequest.newBuilder(URI.create(base() + "/v1/posture/evidence"))
                    .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"evidence\":\"" + jws + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(e.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(e.statusCode()).as(e.body()).isEqualTo(200);
            assertThat(JSON.readTree(e.body()).get("compliant").asBoolean()).as(e.body()).isTrue();
        }

        // with the lease: three echo tunnels and one HTTP request, in parallel on one connection;
        // each echo ends its output only after the client's END_STREAM reached it (half-close)
        H2Client.Result through = H2Client.run(plan(connect(echoAt, 300_000), connect(echoAt, 200_000),
                connect(echoAt, 1), Map.of("method", "CONNECT", "authority", "127.0.0.1:" + web.getAddress().getPort(),
                        "data", "GET / HTTP/1.0\r\nHost: admin\r\n\r\n")));
        for (int i = 0; i < 3; i++) {
            H2Client.Stream s = through.stream(i);
            assertThat(s.status()).as(s.toString()).isEqualTo(200);
            assertThat(s.reset()).as(s.toString()).isNull();
            assertThat(s.ended()).as("END_STREAM came back after the echo saw ours: " + s).isTrue();
            assertThat(s.received()).isEqualTo(s.sent());
            assertThat(s.receivedSha256()).isEqualTo(s.sentSha256());
        }
        assertThat(through.stream(0).sent()).isEqualTo(300_000);
        H2Client.Stream web = through.stream(3);
        assertThat(web.status()).isEqualTo(200);
        assertThat(web.text()).startsWith("HTTP/1.1 200").endsWith("hello from the admin host\n");
        assertThat(web.ended()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = GatewaySettings.Tls.Provider.class, names = {"OPENSSL", "JDK"})
    void h2_refusals_forbiddenMalformedAndBeyondTheStreamLimit(GatewaySettings.Tls.Provider provider) throws Exception {
        start(provider);
        grantLease();
        String echoAt = "127.0.0.1:" + echo.getLocalPort();

        H2Client.Result refused = H2Client.run(plan(
                connect("169.254.169.254:80", 1),
                connect("127.0.0.2:" + echo.getLocalPort(), 1), // loopback, but not the address the rule names
                connect("127.0.0.1:9", 1), // loopback, but not a port a rule names it with
                Map.of("method", "CONNECT", "authority", echoAt, "headers", Map.of(":path", "/"))));
        for (int i = 0; i < 3; i++) {
            H2Client.Stream s = refused.stream(i);
            assertThat(s.status()).as(s.toString()).isEqualTo(403);
            assertThat(s.reason()).isEqualTo("access.forbidden_address");
            assertThat(s.reset()).isIn(null, NO_ERROR);
        }
        H2Client.Stream malformed = refused.stream(3);
        assertThat(malformed.status()).as(malformed.toString()).isEqualTo(400);
        assertThat(malformed.reason()).isEqualTo("connect.malformed");
        assertThat(malformed.reset()).isEqualTo(PROTOCOL_ERROR);
        assertThat(refused.connectionClosed()).isFalse();

        // limits.streamsPerConnection open tunnels; the next streams are refused, the open ones go on
        List<Map<String, Object>> many = new ArrayList<>();
        for (int i = 0; i < STREAM_LIMIT + 2; i++) {
            Map<String, Object> open = new HashMap<>(connect(echoAt, 100));
            open.put("end", false); // keep the tunnel open
            many.add(open);
        }
        Map<String, Object> p = plan(many.toArray(Map[]::new));
        p.put("ignoreStreamLimit", true);
        p.put("timeout", 4);
        H2Client.Result limited = H2Client.run(p);
        for (int i = 0; i < STREAM_LIMIT; i++) {
            H2Client.Stream s = limited.stream(i);
            assertThat(s.status()).as(s.toString()).isEqualTo(200);
            assertThat(s.received()).as(s.toString()).isEqualTo(100);
        }
        for (int i = STREAM_LIMIT; i < STREAM_LIMIT + 2; i++) {
            H2Client.Stream s = limited.stream(i);
            assertThat(s.reset()).as(s.toString()).isEqualTo(REFUSED_STREAM);
            assertThat(s.status()).isNull();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GatewaySettings.Tls.Provider.class, names = {"OPENSSL", "JDK"})
    void h2_estCacertsAnd404_http11WithoutAlpn(GatewaySettings.Tls.Provider provider) throws Exception {
        start(provider);
        Map<String, Object> p = plan(Map.of("method", "GET", "path", "/.well-known/est/cacerts"),
                Map.of("method", "GET", "path", "/nowhere"));
        p.remove("cert"); // EST cacerts needs no client certificate
        p.remove("key");
        H2Client.Result r = H2Client.run(p);
        assertThat(r.alpn()).isEqualTo("h2");
        H2Client.Stream cacerts = r.stream(0);
        assertThat(cacerts.status()).as(cacerts.toString()).isEqualTo(200);
        assertThat(cacerts.headers()).containsEntry("content-type", "application/pkcs7-mime");
        assertThat(cacerts.received()).isGreaterThan(100);
        assertThat(r.stream(1).status()).isEqualTo(404);
        assertThat(r.stream(1).reason()).isEqualTo("http.not_found");

        // no ALPN at all: HTTP/1.1
        Process s = new ProcessBuilder("openssl", "s_client", "-quiet", "-connect", "127.0.0.1:" + gateway.address().getPort(),
                "-CAfile", pki.chainFile().toString(), "-cert", certFile.toString(), "-key", keyFile.toString())
                .redirectErrorStream(false).start();
        s.getOutputStream().write("GET /nowhere HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        assertThat(s.waitFor(15, TimeUnit.SECONDS)).as("openssl s_client finished").isTrue();
        String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(answer).startsWith("HTTP/1.1 404").containsIgnoringCase("Postern-Reason: http.not_found");
    }

    // ---- helpers --------------------------------------------------------------------------------

    static Map<String, Object> connect(String authority, int send) {
        return Map.of("method", "CONNECT", "authority", authority, "send", send);
    }

    @SafeVarargs
    final Map<String, Object> plan(Map<String, Object>... requests) {
        Map<String, Object> p = new HashMap<>();
        p.put("host", "127.0.0.1");
        p.put("port", gateway.address().getPort());
        p.put("ca", pki.chainFile().toString());
        p.put("cert", certFile.toString());
        p.put("key", keyFile.toString());
        p.put("timeout", 20);
        p.put("requests", List.of(requests));
        return p;
    }

    String base() {
        return "https://127.0.0.1:" + gateway.address().getPort();
    }

    /** Posture over h2 with the JDK's client: challenge, then evidence; asserts a lease. */
    void grantLease() throws Exception {
        try (HttpClient client = jdkH2Client()) {
            HttpResponse<String> c = client.send(HttpRequest.newBuilder(URI.create(base() + "/v1/posture/challenge"))
                    .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
            String nonce = JSON.readTree(c.body()).get("nonce").asText();
            String jws = Evidence.sign(GatewayServerIT.claims("laptop-1", nonce, Instant.now()), keys.getPrivate(), cert);
            HttpResponse<String> e = client.send(HttpRequest.newBuilder(URI.create(base() + "/v1/posture/evidence"))
                    .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"evidence\":\"" + jws + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(e.statusCode()).as(e.body()).isEqualTo(200);
            assertThat(JSON.readTree(e.body()).get("compliant").asBoolean()).as(e.body()).isTrue();
        }
    }

    HttpClient jdkH2Client() throws Exception {
        SSLContext ctx = pki.clientTls(keys.getPrivate(), cert);
        return HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_2)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }
}
