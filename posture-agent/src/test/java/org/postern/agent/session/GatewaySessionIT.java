package org.postern.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.agent.state.AgentHome;
import org.postern.agent.tunnel.LocalListeners;
import org.postern.agent.tunnel.TunnelEvents;
import org.postern.config.HostPort;
import org.postern.config.agent.AgentSettings;
import org.postern.keys.KeyFiles;
import org.postern.keys.SecureFiles;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

/**
 * {@code postern-agent up}'s session against {@link H2GatewayPeer} over real TLS and HTTP/2: posture
 * at start, renewal, denial and retry, reconnect, and the local paths (SOCKS5 with curl and the
 * JDK's SOCKS client, a forward, {@code postern-agent connect} as a process) relaying to a loopback
 * service with half-close.
 */
class GatewaySessionIT {
    @TempDir
    Path tmp;
    TestPki pki;
    H2GatewayPeer gateway;
    AgentHome home;
    EventLoopGroup group;
    GatewaySession session;
    LocalListeners listeners;
    final List<String> said = new CopyOnWriteArrayList<>();
    EchoServer echo;

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create();
        gateway = new H2GatewayPeer(pki);
        home = enrolledHome(pki, tmp.resolve("agent"), gateway.url(), "laptop-7");
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        echo = new EchoServer();
    }

    @AfterEach
    void stop() throws Exception {
        if (listeners != null) {
            listeners.close();
        }
        if (session != null) {
            session.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        gateway.close();
        echo.close();
        pki.close();
    }

    /** An agent directory as {@code postern-agent enroll} leaves it, for a device enrolled with the test PKI. */
    static AgentHome enrolledHome(TestPki pki, Path dir, String gatewayUrl, String device) throws IOException {
        TestPki.Enrolled e = pki.enroll(device, "alice");
        AgentHome home = new AgentHome(dir);
        SecureFiles.privateDirectory(dir);
        SecureFiles.createSecret(home.keyFile(), KeyFiles.plainPem(e.keys().getPrivate()));
        home.saveEnrollment(new AgentHome.Enrollment(gatewayUrl, pki.ca.rootSha256(), device, Instant.now(), home.fileKey()),
                e.certificate(), pki.ca.chain());
        return home;
    }

    static PostureClaims.Facts facts() {
        Instant now = Instant.now();
        return new PostureClaims.Facts(new OsFacts(OsFacts.LINUX, "debian", "13", null, "6.12.0-amd64"),
                new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null),
                new PatchFacts(now.minus(Duration.ofDays(1)), 0, null, false), PostureClaims.NATIVE, List.of());
    }

    static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }

    void up(AgentSettings settings) throws IOException {
        up(settings, List.of(java.net.URI.create(gateway.url())));
    }

    void up(AgentSettings settings, List<java.net.URI> gateways) throws IOException {
        session = new GatewaySession(new GatewaySession.Setup(gateways, home, settings,
                GatewaySessionIT::facts, new AgentInfo("postern-agent", "0.1.0"), Clock.systemUTC(), group, said::add, Map.of()));
        listeners = LocalListeners.bind(settings, group, session, new TunnelEvents() {
            @Override
            public void opened(String via, String destination) {
                said.add("opened " + destination);
            }

            @Override
            public void refused(String via, String destination, Throwable cause) {
                said.add("refused " + destination + ": " + cause.getMessage());
            }
        });
        session.listeners(listeners.bound());
        session.start();
    }

    AgentSettings settings(int socksPort, List<AgentSettings.Forward> forwards, Duration retry, Duration margin) {
        return new AgentSettings(List.of(), null, new AgentSettings.Socks(true, new HostPort("127.0.0.1", socksPort), false),
                forwards, new AgentSettings.Posture(AgentSettings.Posture.Collector.NATIVE, retry, margin),
                new AgentSettings.Reconnect(Duration.ofMillis(200), Duration.ofSeconds(1)));
    }

    int socksPort() {
        return listeners.bound().getFirst().address().getPort();
    }

    void awaitLease() {
        await().atMost(Duration.ofSeconds(20)).until(() -> session.decision() != null && session.decision().allowed());
    }

    /** Through SOCKS5 with the JDK's client (a domain-name request): sends {@code text}, half-closes, reads the answer. */
    String viaSocks(String host, int port, String text) throws IOException {
        try (Socket s = new Socket(new Proxy(Proxy.Type.SOCKS, new InetSocketAddress("127.0.0.1", socksPort())))) {
            s.setSoTimeout(10_000);
            s.connect(InetSocketAddress.createUnresolved(host, port), 10_000);
            return exchange(s, text);
        }
    }

    static String exchange(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
        s.shutdownOutput();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void up_provesPostureThenTunnelsSocksWithHalfClose() throws Exception {
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)));
        awaitLease();
        assertThat(gateway.verifiedDevices).containsExactly("laptop-7");
        assertThat(said).anySatisfy(l -> assertThat(l).startsWith("connected to 127.0.0.1:" + gateway.port + " (TLS 1.3 via BoringSSL, HTTP/2) as laptop-7"));
        assertThat(said).anySatisfy(l -> assertThat(l).startsWith("posture accepted; lease until ").endsWith("(policy test-1)"));

        assertThat(viaSocks("localhost", echo.port(), "hello through postern")).isEqualTo("echo: hello through postern");
        assertThat(gateway.connects).containsExactly("localhost:" + echo.port());
        // several tunnels at once share the one connection
        List<Thread> ts = new ArrayList<>();
        List<String> answers = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 5; i++) {
            int n = i;
            ts.add(Thread.ofVirtual().start(() -> {
                try {
                    answers.add(viaSocks("127.0.0.1", echo.port(), "stream " + n));
                } catch (IOException e) {
                    answers.add("failed: " + e);
                }
            }));
        }
        for (Thread t : ts) {
            t.join(Duration.ofSeconds(20));
        }
        assertThat(answers).containsExactlyInAnyOrder("echo: stream 0", "echo: stream 1", "echo: stream 2", "echo: stream 3", "echo: stream 4");
        assertThat(gateway.connections.size()).isEqualTo(1);
    }

    @Test
    void socks_curlFetchesAPageThroughTheTunnel() throws Exception {
        Path curl = Path.of("/usr/bin/curl");
        assertThat(curl).as("curl is needed (Debian package curl)").exists();
        var http = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", x -> {
            byte[] b = "admin console\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, b.length);
            x.getResponseBody().write(b);
            x.close();
        });
        http.start();
        try {
            up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)));
            awaitLease();
            Proc.Result r = Proc.run(tmp, Duration.ofSeconds(30), curl.toString(), "-sS", "--max-time", "20",
                    "--socks5-hostname", "127.0.0.1:" + socksPort(), "http://localhost:" + http.getAddress().getPort() + "/");
            assertThat(r.exit()).as(r.all()).isZero();
            assertThat(r.stdout()).isEqualTo("admin console\n");
        } finally {
            http.stop(0);
        }
    }

    @Test
    void gatewayRefusal_isSocksNotAllowed() throws Exception {
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)));
        awaitLease();
        gateway.forbidden.add("db9.admin.internal:22");
        assertThatThrownBy(() -> viaSocks("db9.admin.internal", 22, "x")).isInstanceOf(IOException.class)
                .hasMessageContaining("Connection not allowed by ruleset");
        await().atMost(Duration.ofSeconds(5)).until(() -> said.stream().anyMatch(l ->
                l.equals("refused db9.admin.internal:22: the gateway refused db9.admin.internal:22: 403 access.denied")));
    }

    @Test
    void denial_printsReasonsRefusesLocallyAndRetries() throws Exception {
        gateway.compliant = false;
        up(settings(freePort(), List.of(), Duration.ofSeconds(1), Duration.ofMinutes(2)));
        await().atMost(Duration.ofSeconds(20)).until(() -> session.decision() != null);
        assertThat(session.decision().allowed()).isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> said.contains("trying again in 1s"));
        assertThat(said).contains("posture denied by the gateway (policy test-1): disk.not_encrypted",
                "  disk.not_encrypted: System volume / is not encrypted",
                "    → Encrypt the system volume with LUKS, then run postern-agent check.");
        assertThatThrownBy(() -> viaSocks("localhost", echo.port(), "x")).isInstanceOf(IOException.class)
                .hasMessageContaining("SOCKS server general failure");
        assertThat(gateway.connects).as("nothing asked of the gateway without a lease").isEmpty();
        JsonNode state = new SessionFile(home.dir()).running().orElseThrow();
        assertThat(state.path("decision").path("compliant").asBoolean(true)).isFalse();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home.dir().resolve("session.json"))))
                .isEqualTo("rw-------");

        gateway.compliant = true; // the user fixed it; the next try gets the lease
        awaitLease();
        assertThat(viaSocks("localhost", echo.port(), "fixed")).isEqualTo("echo: fixed");
    }

    @Test
    void lease_isRenewedBeforeItEnds() throws Exception {
        gateway.lease = Duration.ofSeconds(2);
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofSeconds(1)));
        awaitLease();
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.challenges.get() >= 4);
        assertThat(session.decision().liveAt(Instant.now())).isTrue();
        assertThat(gateway.connections.size()).as("renewed on the same connection").isEqualTo(1);
    }

    @Test
    void sshCertificate_isFetchedOverTheConnectionAfterEachLeaseAndRenewedWithIt() throws Exception {
        gateway.sshCa = org.postern.pki.ssh.SshUserCa.ephemeral(new java.security.SecureRandom());
        gateway.lease = Duration.ofSeconds(3);
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofSeconds(1)));
        await().atMost(Duration.ofSeconds(20)).until(() -> gateway.sshRequests.get() >= 2);
        assertThat(said).anySatisfy(l -> assertThat(l).startsWith("SSH certificate for alice valid until ")
                .endsWith("(" + home.sshDir().resolve("id_ecdsa-cert.pub") + ")"));
        for (String f : List.of("id_ecdsa", "id_ecdsa-cert.pub")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home.sshDir().resolve(f))))
                    .as(f).isEqualTo("rw-------");
        }
        var cert = new org.postern.agent.ssh.SshCertificates(home.sshDir(), Clock.systemUTC(), new java.security.SecureRandom())
                .current().orElseThrow();
        assertThat(cert.principals()).containsExactly("alice");
        assertThat(cert.validBefore()).isAfter(Instant.now());
        assertThat(gateway.connections.size()).isEqualTo(1); // the same HTTP/2 connection as posture
    }

    @Test
    void noBastion_the404IsSaidOnceAndNotAskedAgainOnThatConnection() throws Exception {
        gateway.lease = Duration.ofSeconds(2);
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofSeconds(1)));
        await().atMost(Duration.ofSeconds(20)).until(() -> gateway.challenges.get() >= 3);
        assertThat(gateway.sshRequests.get()).isEqualTo(1);
        assertThat(said.stream().filter(l -> l.contains("no SSH bastion"))).containsExactly(
                "the gateway offers no SSH bastion (404 at /v1/ssh/certificate): no SSH certificate");
        assertThat(Files.exists(home.sshDir().resolve("id_ecdsa-cert.pub"))).isFalse();
    }

    @Test
    void sshDisabled_asksForNoCertificate() throws Exception {
        gateway.sshCa = org.postern.pki.ssh.SshUserCa.ephemeral(new java.security.SecureRandom());
        AgentSettings s = settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2));
        up(new AgentSettings(s.gateways(), s.stateDir(), s.socks(), s.forwards(), s.posture(), s.reconnect(),
                new AgentSettings.Ssh(false, null, null)));
        awaitLease();
        assertThat(gateway.challenges.get()).isEqualTo(1);
        assertThat(gateway.sshRequests.get()).isZero();
    }

    /** Issue 14: with several gateways, one that cannot be reached is skipped at once, without a wait. */
    @Test
    void gateways_aDeadFirstOneIsSkipped_andTheNextTriedAtOnce() throws Exception {
        int dead = freePort();
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)),
                List.of(java.net.URI.create("https://127.0.0.1:" + dead), java.net.URI.create(gateway.url())));
        awaitLease();
        assertThat(said.getFirst()).startsWith("cannot reach the gateway at 127.0.0.1:" + dead + ": ");
        assertThat(said.get(1)).isEqualTo("trying the next gateway");
        assertThat(said.get(2)).startsWith("connected to 127.0.0.1:" + gateway.port + " (TLS 1.3 via ");
        assertThat(said).noneSatisfy(l -> assertThat(l).startsWith("reconnecting in ")).noneSatisfy(l -> assertThat(l).contains("failover"));
        assertThat(viaSocks("localhost", echo.port(), "via the second")).isEqualTo("echo: via the second");
    }

    /**
     * Issue 14 review: a gateway whose registry is out of reach answers posture 503
     * {@code registry.unavailable}; the agent took it for a denial and asked the same connection
     * forever. It is the gateway's trouble: the next gateway is tried at once.
     */
    @Test
    void posture503RegistryUnavailable_theNextGatewayIsTriedAtOnce() throws Exception {
        gateway.unavailable = "registry.unavailable";
        try (H2GatewayPeer second = new H2GatewayPeer(pki)) {
            up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)),
                    List.of(java.net.URI.create(gateway.url()), java.net.URI.create(second.url())));
            awaitLease();
            assertThat(said).contains("connection to 127.0.0.1:" + gateway.port
                    + " left: the gateway answered 503 registry.unavailable (it cannot decide now)", "trying the next gateway");
            assertThat(said).noneSatisfy(l -> assertThat(l).startsWith("posture denied"));
            assertThat(second.verifiedDevices).containsExactly("laptop-7");
            assertThat(gateway.challenges.get()).as("asked once, not again and again").isEqualTo(1);
            assertThat(viaSocks("localhost", echo.port(), "via the second")).isEqualTo("echo: via the second");
        }
    }

    /** The gateway ended the connection because its view went stale (GOAWAY registry_unavailable): fail over. */
    @Test
    void goAwayRegistryUnavailable_failsOverToTheNextGateway() throws Exception {
        try (H2GatewayPeer second = new H2GatewayPeer(pki)) {
            up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)),
                    List.of(java.net.URI.create(gateway.url()), java.net.URI.create(second.url())));
            awaitLease();
            assertThat(gateway.verifiedDevices).containsExactly("laptop-7");
            gateway.unavailable = "registry.unavailable"; // and it cannot decide either, should the agent come back
            gateway.goAway("registry_unavailable");
            await().atMost(Duration.ofSeconds(10)).until(() -> second.verifiedDevices.size() == 1 && session.connected());
            assertThat(said).contains("connection to 127.0.0.1:" + gateway.port
                    + " closed by the gateway: registry_unavailable (the gateway cannot read its device registry)");
            await().atMost(Duration.ofSeconds(5)).until(() -> said.stream().anyMatch(l -> l.startsWith("failover: 127.0.0.1:"
                    + second.port + " took over from 127.0.0.1:" + gateway.port)));
            assertThat(viaSocks("localhost", echo.port(), "after failover")).isEqualTo("echo: after failover");
        }
    }

    @Test
    void droppedConnection_reconnectsAndProvesAgain() throws Exception {
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)));
        awaitLease();
        gateway.dropConnections();
        await().atMost(Duration.ofSeconds(5)).until(() -> said.stream().anyMatch(l -> l.startsWith("connection to 127.0.0.1:" + gateway.port + " lost")));
        await().atMost(Duration.ofSeconds(20)).until(() -> gateway.verifiedDevices.size() == 2 && session.connected());
        assertThat(said).anySatisfy(l -> assertThat(l).startsWith("reconnecting in "));
        assertThat(viaSocks("localhost", echo.port(), "again")).isEqualTo("echo: again");
    }

    @Test
    void backpressure_aClientThatDoesNotRead_stallsTheDestination() throws Exception {
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)));
        awaitLease();
        java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
        try (ServerSocket firehose = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                byte[] chunk = new byte[64 * 1024];
                try (Socket s = firehose.accept(); OutputStream out = s.getOutputStream()) {
                    for (int i = 0; i < 16 * 1024; i++) { // at most 1 GiB, far more than any buffer on the way
                        out.write(chunk);
                        sent.addAndGet(chunk.length);
                    }
                } catch (IOException e) {
                    // the test ended the tunnel
                }
            });
            try (Socket s = new Socket(new Proxy(Proxy.Type.SOCKS, new InetSocketAddress("127.0.0.1", socksPort())))) {
                s.connect(InetSocketAddress.createUnresolved("localhost", firehose.getLocalPort()), 10_000);
                // the client reads nothing: every buffer on the way fills, then the destination stalls
                long[] last = {-1};
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                    long now = sent.get();
                    boolean still = now > 0 && now == last[0];
                    last[0] = now;
                    return still;
                });
                long stalledAt = sent.get();
                assertThat(stalledAt).as("bytes the destination could send before the agent stopped reading")
                        .isLessThan(64L * 1024 * 1024);
                // reading again lets it go on
                InputStream in = s.getInputStream();
                byte[] buf = new byte[256 * 1024];
                long read = 0;
                while (read < stalledAt + 4L * 1024 * 1024) {
                    int n = in.read(buf);
                    assertThat(n).isPositive();
                    read += n;
                }
                assertThat(sent.get()).isGreaterThan(stalledAt);
            }
        }
    }

    @Test
    void forward_tunnelsItsPortToItsDestination() throws Exception {
        int fwd = freePort();
        up(settings(freePort(), List.of(new AgentSettings.Forward(new HostPort("127.0.0.1", fwd),
                new HostPort("localhost", echo.port()))), Duration.ofSeconds(30), Duration.ofMinutes(2)));
        awaitLease();
        try (Socket s = new Socket("127.0.0.1", fwd)) {
            s.setSoTimeout(10_000);
            assertThat(exchange(s, "via forward")).isEqualTo("echo: via forward");
        }
        assertThat(gateway.connects).containsExactly("localhost:" + echo.port());
    }

    @Test
    void connectCommand_pipesStdioThroughTheRunningUp() throws Exception {
        up(settings(freePort(), List.of(), Duration.ofSeconds(30), Duration.ofMinutes(2)));
        awaitLease();
        Path in = Files.writeString(tmp.resolve("stdin.txt"), "from ssh");
        Proc.Result r = Proc.run(tmp, Duration.ofSeconds(60), "/bin/sh", "-c",
                agentCommand(home.dir()) + " connect localhost " + echo.port() + " < " + in);
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.stdout()).isEqualTo("echo: from ssh");
    }

    @Test
    void connectCommand_withoutUp_saysSo() throws Exception {
        Proc.Result r = Proc.run(tmp, Duration.ofSeconds(60), "/bin/sh", "-c",
                agentCommand(home.dir()) + " connect db1.admin.internal 22 < /dev/null");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.stderr()).contains("postern-agent: postern-agent up is not running (no live session in "
                + home.dir().resolve("session.json") + "); start it with: postern-agent up");
    }

    /** {@code postern-agent --home DIR} as a shell command, on this JVM and class path. */
    static String agentCommand(Path home) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return "'" + java + "' -cp '" + System.getProperty("java.class.path") + "' -Dlogback.configurationFile=postern-agent-logback.xml "
                + "org.postern.agent.cli.AgentCommand --home '" + home + "'";
    }

    /** Answers "echo: " + everything it read, once the client half-closed: shows both directions and half-close. */
    static final class EchoServer implements AutoCloseable {
        private final ServerSocket socket = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        private final Thread acceptor;

        EchoServer() throws IOException {
            acceptor = Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        Thread.ofVirtual().start(() -> {
                            try (s; InputStream in = s.getInputStream()) {
                                byte[] all = in.readAllBytes();
                                s.getOutputStream().write(("echo: " + new String(all, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                            } catch (IOException e) {
                                // the client went away
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
            acceptor.interrupt();
        }
    }
}
