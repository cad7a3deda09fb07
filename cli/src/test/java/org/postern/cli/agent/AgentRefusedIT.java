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
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.pki.testing.EchoServer;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.PkiService;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPki;

/**
 * What {@code postern-agent up} (its own process) does when the REAL gateway stops accepting the
 * laptop or ends its tunnels (issue 11): a revoked laptop is told so in plain words and stops
 * after one refused attempt (exit 3) instead of reconnecting every second; a suspended one waits
 * {@code 15m} between attempts; {@code status} and {@code status --json} show why.
 */
class AgentRefusedIT {
    static final ObjectMapper JSON = new ObjectMapper();

    TestPki pki;
    Path work;
    Path home;
    GatewayServer gateway;
    int gatewayPort;
    EchoServer echo;
    Process up;
    Path upOut;
    int socks;

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create();
        work = pki.workDir("agent-refused");
        home = work.resolve("agent");
        gatewayPort = AgentUpIT.freePort();
        echo = EchoServer.start();
        GatewaySettings d = GatewaySettings.defaults();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("admins-to-echo", List.of("admins"),
                List.of(Destination.parse("127.0.0.1/32:" + echo.getLocalPort())))));
        PosturePolicy p = PosturePolicy.defaults();
        // report-only: this machine gets a lease whatever its disk and updates
        PosturePolicy policy = new PosturePolicy("refused-it", PosturePolicy.Mode.REPORT_ONLY, p.lease(), p.requireDiskEncryption(),
                p.minOs(), p.maxDaysSinceUpdate(), p.maxSecurityPendingDays(), p.denyRebootRequired(), p.minAgentVersion(),
                p.minCertValidityDays(), p.evidenceSkew(), p.unsafeAllowUnknownPendingAge());
        GatewaySettings settings = new GatewaySettings("gw-refused", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", gatewayPort), new HostPort("127.0.0.1", AgentUpIT.freePort()),
                        false, new HostPort("127.0.0.1", AgentUpIT.freePort())),
                d.tls(), policy, rules, d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));

        PkiService.NewDevice added = pki.service.addDevice("laptop-r", "alice", List.of("admins"), null, null, "test");
        Path token = Files.writeString(work.resolve("token"), added.token().reveal() + "\n");
        AgentUpIT.Run enrolled = AgentUpIT.agent("--home", home.toString(), "enroll", "--gateway", "https://127.0.0.1:" + gatewayPort,
                "--token-file", token.toString(), "--ca-sha256", pki.ca.rootSha256());
        assertThat(enrolled.code()).as(enrolled.err()).isZero();
    }

    @AfterEach
    void stop() throws Exception {
        if (up != null && up.isAlive()) {
            up.destroy();
            if (!up.waitFor(10, TimeUnit.SECONDS)) {
                up.destroyForcibly();
            }
        }
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

    /** Issue 11 item 8: a revoked laptop reconnected every second forever (137 tls.rejected in 30 s) and never said why. */
    @Test
    void revoked_upSaysSoAndStopsAfterOneRefusedAttempt() throws Exception {
        startUp();
        String serial = certificateSerial();
        pki.service.revoke("laptop-r", RevocationReason.keyCompromise, "test");

        // the gateway closes the idle connection saying why; the agent's next attempt is refused and it stops
        assertThat(up.waitFor(30, TimeUnit.SECONDS)).as("up still running: " + upOut()).isTrue();
        assertThat(up.exitValue()).as(upOut()).isEqualTo(3);
        assertThat(upOut()).contains("connection to 127.0.0.1:" + gatewayPort + " closed by the gateway: revoked (this laptop's certificate was revoked)")
                .containsPattern("This laptop's certificate \\(serial " + serial + "\\) was revoked by IT security on \\S+ \\(reason: keyCompromise\\);"
                        + " the tunnel is stopped and postern-agent up will not connect again with it \\(the gateway sent TLS alert certificate_\\w+\\)\\."
                        + " Contact your IT security team to enroll this laptop again\\.");
        assertThat(rejected()).as("tls.rejected records: the agent's attempts after the revocation").hasSizeBetween(1, 2);

        AgentUpIT.Run status = AgentUpIT.agent("--home", home.toString(), "status");
        assertThat(status.out()).contains("REFUSED:      This laptop's certificate (serial " + serial + ") was revoked by IT security")
                .contains("session:      none (postern-agent up is not running)");
        JsonNode json = JSON.readTree(AgentUpIT.agent("--home", home.toString(), "status", "--json").out());
        assertThat(json.path("barred").path("kind").asText()).isEqualTo("revoked");
        assertThat(json.path("barred").path("crlReason").asText()).isEqualTo("keyCompromise");
        assertThat(json.path("barred").path("message").asText()).contains("Contact your IT security team");
    }

    /** Issue 11 item 8: a suspended laptop waits 15 minutes between attempts and says it is suspended. */
    @Test
    void suspended_upSaysSoAndWaitsLong() throws Exception {
        startUp();
        pki.service.suspend("laptop-r", "test");
        awaitOutput("reconnecting in 15m", Duration.ofSeconds(30));
        assertThat(upOut()).contains("closed by the gateway: suspended (this laptop was suspended)")
                .containsPattern("This laptop was suspended by IT security on \\S+ \\(its certificate, serial \\w+, is on hold\\);"
                        + " the tunnel is stopped \\(the gateway sent TLS alert certificate_\\w+\\)\\. Contact your IT security team to resume it;"
                        + " postern-agent up tries again every 15 minutes\\.");
        Thread.sleep(3_000); // a hammering agent would have tried several times by now
        assertThat(rejected()).hasSizeBetween(1, 2);
        assertThat(up.isAlive()).isTrue();

        JsonNode json = JSON.readTree(AgentUpIT.agent("--home", home.toString(), "status", "--json").out());
        assertThat(json.path("session").path("state").asText()).isEqualTo("suspended");
        assertThat(json.path("barred").path("kind").asText()).isEqualTo("suspended");
        assertThat(AgentUpIT.agent("--home", home.toString(), "status").out()).contains("REFUSED:      This laptop was suspended by IT security");
    }

    /** Issue 11 item 16: a tunnel the gateway ended showed the user only "Broken pipe". */
    @Test
    void adminKill_upLogsTheTunnelCloseWithItsReason_andStatusListsIt() throws Exception {
        startUp();
        try (Socket s = new Socket(new java.net.Proxy(java.net.Proxy.Type.SOCKS, loopback(socks)))) {
            s.setSoTimeout(10_000);
            s.connect(InetSocketAddress.createUnresolved("127.0.0.1", echo.getLocalPort()), 10_000);
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertThat(new String(s.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("ping\n");

            String session = gateway.sessions().sessions().stream().filter(i -> i.device().equals("laptop-r")).findFirst()
                    .orElseThrow().id();
            assertThat(gateway.sessions().kill(session, "admin-test")).isTrue();
            awaitOutput(": killed (an administrator ended the session)", Duration.ofSeconds(15));
        }
        assertThat(upOut()).containsPattern("tunnel to 127\\.0\\.0\\.1:" + echo.getLocalPort() + " closed after \\d+ s \\(5 B up, 5 B down;"
                + " SOCKS5 from /127\\.0\\.0\\.1:\\d+\\): killed \\(an administrator ended the session\\)");
        JsonNode closes = JSON.readTree(AgentUpIT.agent("--home", home.toString(), "status", "--json").out()).path("recentCloses");
        assertThat(closes).hasSize(1);
        assertThat(closes.get(0).path("reason").asText()).isEqualTo("killed");
        assertThat(closes.get(0).path("destination").asText()).isEqualTo("127.0.0.1:" + echo.getLocalPort());
        assertThat(closes.get(0).path("bytesUp").asLong()).isEqualTo(5);
        assertThat(AgentUpIT.agent("--home", home.toString(), "status").out()).contains("recent tunnel closes:")
                .contains("127.0.0.1:" + echo.getLocalPort() + ": killed (an administrator ended the session)");
    }

    void startUp() throws Exception {
        socks = AgentUpIT.freePort();
        Path config = Files.writeString(work.resolve("agent.yaml"), """
                socks:
                  listen: 127.0.0.1:%d
                reconnect:
                  minBackoff: 1s
                  maxBackoff: 2s
                ssh:
                  enabled: false
                """.formatted(socks));
        upOut = work.resolve("up.out");
        up = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
                "-Dlogback.configurationFile=postern-agent-logback.xml", "org.postern.agent.cli.AgentCommand",
                "--home", home.toString(), "up", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(upOut.toFile()).start();
        awaitOutput("posture NOT compliant, allowed (report-only)", Duration.ofSeconds(120));
    }

    String certificateSerial() throws IOException {
        return new org.postern.agent.state.AgentHome(home).certificate().getSerialNumber().toString(16);
    }

    void awaitOutput(String text, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(up.isAlive()).as("postern-agent up exited: " + upOut()).isTrue();
            return upOut().contains(text);
        });
    }

    String upOut() throws IOException {
        return Files.readString(upOut);
    }

    /** The gateway's {@code tls.rejected} records for the laptop. */
    List<JsonNode> rejected() throws IOException {
        return await().atMost(Duration.ofSeconds(5)).until(() -> events("tls.rejected", "laptop-r"), l -> !l.isEmpty());
    }

    List<JsonNode> events(String type, String device) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(pki.dataDir.resolve("audit/trail"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (!line.isBlank()) {
                        JsonNode n = JSON.readTree(line);
                        if (type.equals(n.path("type").asText()) && device.equals(n.path("device").asText(null))) {
                            out.add(n);
                        }
                    }
                }
            }
        }
        return out;
    }


    static InetSocketAddress loopback(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }
}
