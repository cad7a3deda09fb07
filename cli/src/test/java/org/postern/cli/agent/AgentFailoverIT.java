package org.postern.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.pki.testing.EchoServer;
import org.postern.cli.TrailFiles;
import org.postern.pki.PkiService;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPki;

/**
 * Laptop failover (issue 14) with real processes on loopback: two gateways ({@code postern gateway
 * run}, each its own JVM, one data directory and SQLite registry, an audit trail each) and
 * {@code postern-agent up} listing both under {@code gateways}. Gateway A is SIGKILLed while the
 * agent serves through it: the tunnel open at that moment breaks, SOCKS5 requests during the gap
 * fail at once (no hang), and a new curl through the SAME SOCKS5 port works through gateway B
 * within 10 s — the time is printed. A revoked laptop does not fail over: it stops (exit 3) and
 * never knocks on gateway B.
 */
class AgentFailoverIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);

    TestPki pki;
    Path work;
    Path home;
    HttpServer web;
    EchoServer echo;
    final List<Process> processes = new ArrayList<>();
    Process gatewayA;
    Process gatewayB;
    int portA;
    int portB;
    Process up;
    Path upOut;
    int socks;

    @BeforeEach
    void start() throws Exception {
        assertThat(Path.of("/usr/bin/curl")).as("/usr/bin/curl is needed (Debian package curl)").exists();
        pki = TestPki.create();
        work = pki.workDir("agent-failover");
        home = work.resolve("agent");
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", x -> {
            byte[] body = "hello from the admin host\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        web.start();
        echo = EchoServer.start();
        portA = AgentUpIT.freePort();
        portB = AgentUpIT.freePort();
        // one after the other: the first start issues the gateway's server certificate into the shared data directory
        gatewayA = startGateway("gw-a", portA);
        gatewayB = startGateway("gw-b", portB);

        PkiService.NewDevice added = pki.service.addDevice("laptop-f", "alice", List.of("admins"), null, null, "test");
        Path token = Files.writeString(work.resolve("token"), added.token().reveal() + "\n");
        AgentUpIT.Run enrolled = AgentUpIT.agent("--home", home.toString(), "enroll", "--gateway", "https://127.0.0.1:" + portA,
                "--token-file", token.toString(), "--ca-sha256", pki.ca.rootSha256());
        assertThat(enrolled.code()).as(enrolled.err()).isZero();
    }

    @AfterEach
    void stop() throws Exception {
        if (up != null) {
            processes.addFirst(up);
        }
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(15, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
        if (web != null) {
            web.stop(0);
        }
        if (echo != null) {
            echo.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    @Test
    void gatewayKilled_newTunnelsGoThroughTheOtherGatewayWithin10s_onTheSameSocksPort() throws Exception {
        startUp();
        assertThat(upOut()).contains("connected to 127.0.0.1:" + portA + " (TLS 1.3 via");
        String url = "http://127.0.0.1:" + web.getAddress().getPort() + "/";
        Proc.Result before = curl(url);
        assertThat(before.exit()).as(before.all()).isZero();
        assertThat(before.stdout()).isEqualTo("hello from the admin host\n");

        try (Socket open = socksTunnel(echo.getLocalPort())) {
            // a tunnel open at the moment of failure: it breaks (it ran on A's connection)
            assertThat(ping(open)).isEqualTo("ping\n");
            long killed = System.nanoTime();
            gatewayA.destroyForcibly(); // SIGKILL
            assertThat(gatewayA.waitFor(10, TimeUnit.SECONDS)).isTrue();

            List<Proc.Result> failures = new ArrayList<>();
            Proc.Result after;
            while (true) {
                after = Proc.run(work, Duration.ofSeconds(10), "/usr/bin/curl", "-sS", "--max-time", "3",
                        "--socks5-hostname", "127.0.0.1:" + socks, url);
                if (after.exit() == 0 || Duration.ofNanos(System.nanoTime() - killed).compareTo(RECOVERY_BOUND.plusSeconds(10)) > 0) {
                    break;
                }
                failures.add(after);
                Thread.sleep(100); // one curl per 100 ms at most: a bounded probe, not a load
            }
            Duration recovery = Duration.ofNanos(System.nanoTime() - killed);
            System.out.printf("failover recovery: %d ms from SIGKILL of gateway A to the first new tunnel through gateway B"
                    + " (%d SOCKS5 requests refused meanwhile)%n", recovery.toMillis(), failures.size());
            assertThat(after.exit()).as("curl through the same SOCKS5 port after the failover: " + after.all() + "\n" + upOut())
                    .isZero();
            assertThat(after.stdout()).isEqualTo("hello from the admin host\n");
            assertThat(recovery).as("time to recover").isLessThanOrEqualTo(RECOVERY_BOUND);
            // while no gateway served, SOCKS5 answered at once (97: the proxy refused), no curl timed out (28)
            assertThat(failures).allSatisfy(f -> assertThat(f.exit()).as(f.all()).isEqualTo(97));

            // the tunnel that was open broke: EOF or a reset, not a hang
            open.setSoTimeout(10_000);
            assertThat(readOrBroken(open)).isTrue();
        }
        String out = upOut();
        out.lines().filter(l -> l.contains("127.0.0.1:" + portA) || l.contains("127.0.0.1:" + portB) || l.contains("gateway")
                || l.contains("posture")).forEach(l -> System.out.println("up: " + l));
        assertThat(out).containsPattern("connection to 127\\.0\\.0\\.1:" + portA + " lost")
                .contains("trying the next gateway")
                .contains("connected to 127.0.0.1:" + portB + " (TLS 1.3 via")
                .containsPattern("failover: 127\\.0\\.0\\.1:" + portB + " took over from 127\\.0\\.0\\.1:" + portA
                        + " in \\d+\\.\\ds \\(lost.*\\)");
        // the listener stayed up: bound once, never again
        assertThat(out.split("SOCKS5 listening on 127\\.0\\.0\\.1:" + socks, -1)).hasSize(2);

        JsonNode session = JSON.readTree(AgentUpIT.agent("--home", home.toString(), "status", "--json").out()).path("session");
        assertThat(session.path("gateway").asText()).isEqualTo("https://127.0.0.1:" + portB);
        assertThat(session.path("failovers").asInt()).isEqualTo(1);
        assertThat(session.path("lastFailover").path("from").asText()).isEqualTo("127.0.0.1:" + portA);
        assertThat(session.path("lastFailover").path("to").asText()).isEqualTo("127.0.0.1:" + portB);
        assertThat(AgentUpIT.agent("--home", home.toString(), "status").out())
                .contains("session:      connected to https://127.0.0.1:" + portB + " (127.0.0.1) since ")
                .contains("  gateways:   https://127.0.0.1:" + portA + ", https://127.0.0.1:" + portB)
                .containsPattern("  failovers:  1; last at \\S+: 127\\.0\\.0\\.1:" + portB + " took over from 127\\.0\\.0\\.1:"
                        + portA + " in [0-9.]+ s \\(lost");
    }

    @Test
    void revoked_doesNotFailOver_upStopsWithoutAskingTheOtherGateway() throws Exception {
        startUp();
        pki.service.revoke("laptop-f", RevocationReason.keyCompromise, "test");

        assertThat(up.waitFor(30, TimeUnit.SECONDS)).as("up still running: " + upOut()).isTrue();
        assertThat(up.exitValue()).as(upOut()).isEqualTo(3);
        assertThat(upOut()).contains("connection to 127.0.0.1:" + portA + " closed by the gateway: revoked (this laptop's certificate was revoked)")
                .contains("This laptop's certificate (serial ")
                .containsPattern("\\(the gateway sent TLS alert certificate_\\w+\\)")
                .doesNotContain("127.0.0.1:" + portB)
                .doesNotContain("trying the next gateway")
                .doesNotContain("failover");
        assertThat(TrailFiles.records(work.resolve("audit-gw-b"), "laptop-f")).as("gateway B's audit records of the laptop").isEmpty();
        assertThat(gatewayB.isAlive()).isTrue();
    }

    Process startGateway(String id, int port) throws Exception {
        Path config = Files.writeString(work.resolve(id + ".yaml"), """
                gateway:
                  id: %s
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                posture:
                  mode: report-only
                access:
                  rules:
                    - name: admins-to-loopback
                      groups: [admins]
                      to: ["127.0.0.1:%d", "127.0.0.1:%d"]
                audit:
                  dir: %s
                  minFree: 1MiB
                """.formatted(id, pki.dataDir, port, AgentUpIT.freePort(), AgentUpIT.freePort(), web.getAddress().getPort(),
                echo.getLocalPort(), work.resolve("audit-" + id)));
        Path out = work.resolve(id + ".out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "org.postern.cli.PosternCommand", "gateway", "run", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().put("POSTERN_CA_PASSPHRASE", TestPki.PASSPHRASE.reveal());
        Process p = pb.start();
        processes.add(p);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(p.isAlive()).as(id + " exited: " + Files.readString(out)).isTrue();
            return Files.readString(out).contains("Stop with Ctrl-C.");
        });
        return p;
    }

    void startUp() throws Exception {
        socks = AgentUpIT.freePort();
        Path config = Files.writeString(work.resolve("agent.yaml"), """
                gateways:
                  - https://127.0.0.1:%d
                  - https://127.0.0.1:%d
                socks:
                  listen: 127.0.0.1:%d
                reconnect:
                  minBackoff: 500ms
                  maxBackoff: 2s
                ssh:
                  enabled: false
                """.formatted(portA, portB, socks));
        upOut = work.resolve("up.out");
        up = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                "-Dlogback.configurationFile=postern-agent-logback.xml", "org.postern.agent.cli.AgentCommand",
                "--home", home.toString(), "up", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(upOut.toFile()).start();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(up.isAlive()).as("postern-agent up exited: " + upOut()).isTrue();
            return upOut().contains("lease until ");
        });
    }

    Proc.Result curl(String url) {
        return Proc.run(work, Duration.ofSeconds(30), "/usr/bin/curl", "-sS", "--max-time", "20", "--socks5-hostname",
                "127.0.0.1:" + socks, url);
    }

    Socket socksTunnel(int port) throws IOException {
        Socket s = new Socket(new java.net.Proxy(java.net.Proxy.Type.SOCKS, new InetSocketAddress(InetAddress.getLoopbackAddress(), socks)));
        s.setSoTimeout(10_000);
        s.connect(InetSocketAddress.createUnresolved("127.0.0.1", port), 10_000);
        return s;
    }

    static String ping(Socket s) throws IOException {
        s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return new String(s.getInputStream().readNBytes(5), StandardCharsets.US_ASCII);
    }

    /** Whether the tunnel is broken: its read ends (EOF) or fails (reset) rather than timing out. */
    static boolean readOrBroken(Socket s) throws IOException {
        try {
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException hung) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    String upOut() throws IOException {
        return Files.readString(upOut);
    }

}
