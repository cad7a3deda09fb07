package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;
import org.slf4j.LoggerFactory;

/**
 * HTTP/1.1 CONNECT framing on the assembled gateway, over real TLS with a device certificate and
 * raw bytes: every byte after a CONNECT's head belongs to the tunnel (a pipelined request is not
 * answered by the gateway, a second CONNECT opens no second flow), a CONNECT with a body is a bad
 * request, and a refused CONNECT closes the connection with nothing after it parsed. Each client
 * write below is one TLS record, so the CONNECT and what follows it reach the gateway in one read.
 */
class ConnectFramingIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int FLOWS_PER_DEVICE = 3;

    TestPki pki;
    GatewayServer gateway;
    Path auditDir;
    ServerSocket admin;
    /** What each connection to the admin host received, in accept order. */
    final List<ByteArrayOutputStream> received = new CopyOnWriteArrayList<>();
    final List<Socket> adminSockets = new CopyOnWriteArrayList<>();
    SSLContext device;
    SSLContext anonymous;
    String adminAt;
    final ListAppender<ILoggingEvent> log = new ListAppender<>();

    @BeforeEach
    void start() throws Exception {
        log.start();
        root().addAppender(log);
        pki = TestPki.create();
        admin = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        adminAt = "127.0.0.1:" + admin.getLocalPort();
        Thread.ofVirtual().start(this::serveAdmin);
        GatewaySettings d = GatewaySettings.defaults();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("staff-to-admin", List.of("staff"),
                List.of(Destination.parse("127.0.0.1/32:" + admin.getLocalPort())))));
        GatewaySettings.Audit audit = new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"),
                GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1), Duration.ofSeconds(60));
        auditDir = audit.dir();
        GatewaySettings settings = new GatewaySettings("gw-framing", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", GatewayServerIT.freePort()),
                        new HostPort("127.0.0.1", GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", GatewayServerIT.freePort())),
                d.tls(), PosturePolicy.defaults(), rules, new GatewaySettings.Limits(d.limits().headerSize(),
                        d.limits().headerTime(), d.limits().idleTimeout(), d.limits().streamsPerConnection(),
                        d.limits().connectionsPerSource(), FLOWS_PER_DEVICE), audit);
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));
        anonymous = CompliantLaptop.tls(pki, null, null);
        enrollAndProvePosture();
    }

    @AfterEach
    void stop() throws IOException {
        root().detachAppender(log);
        if (gateway != null) {
            gateway.close();
        }
        if (admin != null) {
            admin.close();
            for (Socket s : adminSockets) {
                s.close();
            }
        }
        if (pki != null) {
            pki.close();
        }
    }

    /** Echoes what it reads and keeps a copy; at the end of input, ends its output. */
    private void serveAdmin() {
        while (!admin.isClosed()) {
            try {
                Socket s = admin.accept();
                adminSockets.add(s);
                ByteArrayOutputStream copy = new ByteArrayOutputStream();
                received.add(copy);
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        InputStream in = s.getInputStream();
                        OutputStream out = s.getOutputStream();
                        byte[] buf = new byte[16 * 1024];
                        for (int n; (n = in.read(buf)) >= 0; ) {
                            synchronized (copy) {
                                copy.write(buf, 0, n);
                            }
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

    // ---- what follows an accepted CONNECT is the tunnel's ----------------------------------------------

    @Test
    void pipelinedGet_inTheConnectsRecord_goesToTheAdminHostAsBytes_notAnsweredByTheGateway() throws Exception {
        String get = "GET /pki/crl HTTP/1.1\r\nHost: gw\r\n\r\n";
        String later = "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: gw\r\n\r\n";
        try (SSLSocket s = open(device)) {
            write(s, connect(adminAt) + get); // one record: the CONNECT and the GET in one read
            write(s, later); // before the 200: held, then relayed after the GET
            Head head = readHead(s.getInputStream());
            assertThat(head.line()).isEqualTo("HTTP/1.1 200 Connection Established");
            byte[] echoed = s.getInputStream().readNBytes(get.length() + later.length());
            assertThat(new String(echoed, StandardCharsets.US_ASCII)).isEqualTo(get + later);
            assertThat(adminReceived(0)).isEqualTo(get + later);
            assertThat(gateway.metrics().scrape()).contains("postern_flows_live 1.0");
            s.shutdownOutput();
            assertThat(s.getInputStream().readAllBytes()).as("the echo ended its output after our FIN").isEmpty();
        }
        assertAllClosed(1);
        JsonNode close = records("flow.close").getFirst();
        assertThat(close.get("bytesUp").asLong()).isEqualTo(get.length() + later.length());
        assertThat(close.get("bytesDown").asLong()).isEqualTo(get.length() + later.length());
        assertNoExceptionLogged();
    }

    @Test
    void pipelinedSecondConnect_goesIntoTheTunnelAsBytes_oneFlowOnly() throws Exception {
        String second = connect(adminAt);
        try (SSLSocket s = open(device)) {
            write(s, connect(adminAt) + second);
            assertThat(readHead(s.getInputStream()).line()).isEqualTo("HTTP/1.1 200 Connection Established");
            byte[] echoed = s.getInputStream().readNBytes(second.length());
            assertThat(new String(echoed, StandardCharsets.US_ASCII)).isEqualTo(second);
            assertThat(received).as("one connection to the admin host").hasSize(1);
            assertThat(adminReceived(0)).isEqualTo(second);
            assertThat(gateway.metrics().scrape()).contains("postern_flows_live 1.0");
            // and the tunnel goes on relaying after it
            write(s, "more");
            assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("more");
        }
        assertAllClosed(1);
        assertThat(records("flow.open")).hasSize(1);
        assertThat(records("access.denied")).isEmpty();
        assertNoExceptionLogged();
    }

    @Test
    void connectsPipelinedOverAndOver_neverLockTheDeviceOutOfItsFlowSlots() throws Exception {
        for (int i = 0; i < 2 * FLOWS_PER_DEVICE; i++) {
            try (SSLSocket s = open(device)) {
                write(s, connect(adminAt) + connect(adminAt) + connect(adminAt));
                assertThat(readHead(s.getInputStream()).line()).as("attempt %d", i).endsWith("200 Connection Established");
                s.getInputStream().readNBytes(2 * connect(adminAt).length());
            }
            assertAllClosed(i + 1);
        }
        assertNoExceptionLogged();
    }

    // ---- a CONNECT has no body -----------------------------------------------------------------------

    @Test
    void connectWithContentLengthBody_is400Audited_closed_bodyNeverParsed() throws Exception {
        String smuggled = "GET /pki/crl HTTP/1.1\r\nHost: gw\r\n\r\n";
        try (SSLSocket s = open(device)) {
            write(s, "CONNECT " + adminAt + " HTTP/1.1\r\nHost: " + adminAt + "\r\nContent-Length: " + smuggled.length()
                    + "\r\n\r\n" + smuggled);
            assertOnlyAnswerThenClosed(s, 400, "connect.malformed");
        }
        JsonNode denied = awaitDenied("connect.malformed");
        assertThat(denied.get("detail").asText()).contains("Content-Length");
        assertThat(denied.get("device").asText()).isEqualTo("laptop-1");
        assertNothingReachedTheAdminHost();
        assertNoExceptionLogged();
    }

    @Test
    void connectWithChunkedBody_is400Audited_closed_smuggledGetNeverAnswered() throws Exception {
        String smuggled = "GET /pki/crl HTTP/1.1\r\nHost: gw\r\n\r\n";
        try (SSLSocket s = open(device)) {
            write(s, "CONNECT " + adminAt + " HTTP/1.1\r\nHost: " + adminAt + "\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "0\r\n\r\n" + smuggled);
            assertOnlyAnswerThenClosed(s, 400, "connect.malformed");
        }
        assertThat(awaitDenied("connect.malformed").get("detail").asText()).contains("Transfer-Encoding");
        assertNothingReachedTheAdminHost();
        assertNoExceptionLogged();
    }

    @Test
    void connectWithContentLengthZero_isNoBody_opensTheTunnel() throws Exception {
        try (SSLSocket s = open(device)) {
            write(s, "CONNECT " + adminAt + " HTTP/1.1\r\nHost: " + adminAt + "\r\nContent-Length: 0\r\n\r\nping");
            assertThat(readHead(s.getInputStream()).line()).isEqualTo("HTTP/1.1 200 Connection Established");
            assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
        }
        assertAllClosed(1);
    }

    // ---- a refused CONNECT ends the connection -------------------------------------------------------

    @Test
    void refusedConnect_followedByPipelinedRequest_isAnsweredOnce_thenClosed_nothingParsedAfter() throws Exception {
        String get = "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: gw\r\n\r\n";
        try (SSLSocket s = open(device)) {
            write(s, connect("127.0.0.1:9") + get); // loopback, a port no rule names
            assertOnlyAnswerThenClosed(s, 403, "access.forbidden_address");
        }
        awaitDenied("access.forbidden_address");
        try (SSLSocket s = open(anonymous)) { // no certificate: 401, the same
            write(s, connect(adminAt) + get);
            assertOnlyAnswerThenClosed(s, 401, "tls.client_cert_required");
        }
        awaitDenied("tls.client_cert_required");
        assertNothingReachedTheAdminHost();
        assertThat(gateway.metrics().scrape()).contains("postern_flows_live 0.0");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(gateway.sessions().sessions()).isEmpty());
        assertNoExceptionLogged();
    }

    // ---- helpers ----------------------------------------------------------------------------------

    static String connect(String authority) {
        return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
    }

    /** The answer's head, with {@code status} and {@code reason}, its body, then the end of the connection. */
    void assertOnlyAnswerThenClosed(SSLSocket s, int status, String reason) throws IOException {
        InputStream in = s.getInputStream();
        Head head = readHead(in);
        assertThat(head.status()).as(head.line()).isEqualTo(status);
        assertThat(head.headers()).containsEntry("postern-reason", reason).containsEntry("connection", "close");
        in.readNBytes(Integer.parseInt(head.headers().get("content-length")));
        assertThat(readRest(s)).as("nothing after the refusal: the connection closed").isEmpty();
    }

    void assertAllClosed(int flowsOpened) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(gateway.metrics().scrape()).contains("postern_flows_live 0.0");
            assertThat(gateway.sessions().sessions()).isEmpty();
            assertThat(records("flow.close")).hasSize(flowsOpened);
            assertThat(records("session.end")).hasSize(flowsOpened);
        });
        assertThat(records("flow.open")).hasSize(flowsOpened);
        assertThat(received).hasSize(flowsOpened);
        await().atMost(Duration.ofSeconds(5)).until(() -> adminSockets.stream().allMatch(Socket::isClosed));
    }

    void assertNothingReachedTheAdminHost() {
        assertThat(received).isEmpty();
        assertThat(gateway.metrics().scrape()).contains("postern_flows_live 0.0");
        assertThat(records("flow.open")).isEmpty();
    }

    void assertNoExceptionLogged() {
        List<String> bad = log.list.stream()
                .filter(e -> e.getThrowableProxy() != null || e.getLevel().isGreaterOrEqual(Level.ERROR)
                        || e.getFormattedMessage().contains("Exception"))
                .map(e -> e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage()
                        + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getClassName()))
                .toList();
        assertThat(bad).isEmpty();
    }

    String adminReceived(int connection) {
        ByteArrayOutputStream copy = received.get(connection);
        synchronized (copy) {
            return copy.toString(StandardCharsets.US_ASCII);
        }
    }

    static void write(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
    }

    record Head(String line, int status, Map<String, String> headers) {
    }

    static Head readHead(InputStream in) throws IOException {
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
        return new Head(lines[0], Integer.parseInt(lines[0].split(" ")[1]), headers);
    }

    /** What the gateway sends until it closes the connection; fails if it stays open for 5 s. */
    static String readRest(Socket s) throws IOException {
        s.setSoTimeout(5000);
        try {
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the connection stayed open", e);
        } catch (SocketException e) {
            return ""; // reset: closed
        }
    }

    SSLSocket open(SSLContext ctx) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(gateway.address().getAddress(),
                gateway.address().getPort());
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    /** Enrolls laptop-1 (alice, staff) and gets it a compliant lease; {@link #device} then speaks for it. */
    void enrollAndProvePosture() throws Exception {
        device = CompliantLaptop.enroll(pki, gateway);
    }

    JsonNode awaitDenied(String reason) {
        return await().atMost(Duration.ofSeconds(5)).until(() -> records("access.denied").stream()
                .filter(r -> reason.equals(r.path("reason").asText())).findFirst().orElse(null), r -> r != null);
    }

    /** The trail's records of a type, in order. */
    List<JsonNode> records(String type) {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(auditDir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    JsonNode r = JSON.readTree(line);
                    if (r.get("type").asText().equals(type)) {
                        out.add(r);
                    }
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    static Logger root() {
        return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }
}
