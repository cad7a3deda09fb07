package org.postern.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
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
import org.postern.agent.enroll.CharterClient;
import org.postern.agent.state.AgentHome;
import org.postern.config.gateway.Charter;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.reload.ReloadResult;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.PkiService;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;

/**
 * The remote-work charter end to end (issue 16), with the REAL gateway started from a gateway.yaml
 * and the REAL agent ({@code up} in its own process): a laptop whose user has not accepted the
 * charter is refused with {@code charter.not_accepted} and told what to run; once accepted
 * ({@code charter.accepted} in the trail) it is admitted; when the operator reloads a new version
 * it is refused again until {@code postern-agent charter} accepts that one. The SSH bastion's
 * banner, as OpenSSH's {@code ssh} prints it, shows the charter.
 */
class CharterIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String V1 = "Remote-work charter of the administration.\nI keep my laptop locked when I step away.\n";
    static final String V2 = V1 + "I never lend my laptop, not even to family.\n";

    TestPki pki;
    Path work;
    Path home;
    Path config;
    GatewayServer gateway;
    int gatewayPort;
    int sshPort;
    int adminPort;
    EchoServer echo;
    Process up;
    Path upOut;
    int socks;
    AgentUpIT.Run enrolled;

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create();
        work = pki.workDir("charter");
        home = work.resolve("agent");
        gatewayPort = AgentUpIT.freePort();
        sshPort = AgentUpIT.freePort();
        adminPort = AgentUpIT.freePort();
        echo = EchoServer.start();
        Files.writeString(work.resolve("charter.txt"), V1);
        config = work.resolve("gateway.yaml");
        writeConfig(1);
        GatewaySettings settings = GatewaySettings.load(config);
        assertThat(settings.charter()).isEqualTo(new Charter(1, V1, work.resolve("charter.txt")));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE), Clock.systemUTC(),
                new SecureRandom(), GatewayServer.Options.DEFAULTS.withConfigFile(config, false));

        PkiService.NewDevice added = pki.service.addDevice("laptop-c", "alice", List.of("admins"), null, null, "test");
        Path token = Files.writeString(work.resolve("token"), added.token().reveal() + "\n");
        // no terminal here and no --accept-charter: enrollment is done, the charter left unaccepted
        enrolled = AgentUpIT.agent("--home", home.toString(), "enroll", "--gateway", "https://127.0.0.1:" + gatewayPort,
                "--token-file", token.toString(), "--ca-sha256", pki.ca.rootSha256());
        assertThat(enrolled.code()).as(enrolled.err()).isZero();
    }

    void writeConfig(int version) throws IOException {
        Files.writeString(config, """
                gateway:
                  id: gw-charter
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                posture:
                  mode: report-only   # this machine gets a lease whatever its disk and updates
                access:
                  rules:
                    - name: admins-to-echo
                      groups: [admins]
                      to: ["127.0.0.1/32:%d"]
                charter:
                  version: %d
                  file: charter.txt
                """.formatted(pki.dataDir, gatewayPort, adminPort, sshPort, echo.getLocalPort(), version));
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

    @Test
    void notAccepted_refusedWithTheRemedy_accepted_admitted_newVersion_refusedAgainUntilAccepted() throws Exception {
        String v1Sha = new Charter(1, V1).sha256();
        // enroll showed the charter and said what declining means
        assertThat(enrolled.out()).contains("Remote-work charter, version 1 (sha256 " + v1Sha + "):")
                .contains("  I keep my laptop locked when I step away.")
                .contains("NOT accepted: the gateway refuses every session of this laptop (charter.not_accepted) until version 1 is accepted.")
                .contains("postern-agent --home " + home + " charter --accept");

        // not accepted: refused, and the user is told what to run
        startUp();
        awaitOutput("remote-work charter version 1 is not accepted on this laptop: the gateway refuses every tunnel"
                + " (charter.not_accepted) until it is; run: postern-agent charter", Duration.ofSeconds(15));
        // the SSH bastion's certificate is refused the same way (the gate of every path)
        awaitOutput("the gateway refused an SSH certificate: 403 charter.not_accepted", Duration.ofSeconds(15));
        assertRefusedForCharter("a tunnel before the charter is accepted");
        awaitOutput("the gateway refused 127.0.0.1:" + echo.getLocalPort() + ": 403 charter.not_accepted;"
                + " run `postern-agent charter` to read and accept version 1", Duration.ofSeconds(15));
        JsonNode denied = await().atMost(Duration.ofSeconds(10)).until(() -> events("access.denied", "laptop-c"), l -> !l.isEmpty()).getFirst();
        assertThat(denied.path("reason").asText()).isEqualTo("charter.not_accepted");
        assertThat(denied.path("user").asText()).isEqualTo("alice");
        assertThat(denied.path("remedy").asText()).isEqualTo("run `postern-agent charter` to read and accept version 1");
        assertThat(denied.path("detail").asText()).isEqualTo("device laptop-c (owner alice): expected the remote-work charter version 1 (sha256 "
                + v1Sha + ") accepted, found none accepted");

        // accepted: recorded in the trail with user, device, version and hash; then admitted
        AgentUpIT.Run accepted = AgentUpIT.agent("--home", home.toString(), "charter", "--accept");
        assertThat(accepted.code()).as(accepted.out() + accepted.err()).isZero();
        assertThat(accepted.out()).contains("I keep my laptop locked when I step away.").contains("Accepted version 1 of the remote-work charter at ");
        JsonNode record = events("charter.accepted", "laptop-c").getFirst();
        String acceptedAt = java.time.Instant.parse(record.path("time").asText()).toString(); // as Instant prints it
        assertThat(record.path("user").asText()).isEqualTo("alice");
        assertThat(record.path("version").asInt()).isEqualTo(1);
        assertThat(record.path("textSha256").asText()).isEqualTo(v1Sha);
        assertThat(record.path("source").asText()).startsWith("127.0.0.1:");
        assertThat(record.path("certSerial").asText()).isEqualTo(new AgentHome(home).certificate().getSerialNumber().toString(16));
        assertThat(echoes()).as("a tunnel once version 1 is accepted").isTrue();
        assertThat(AgentUpIT.agent("--home", home.toString(), "charter").out()).contains("This laptop accepted version 1 on ");
        // IT security sees it on the device
        org.postern.cli.PosternCliIT.Run shown = org.postern.cli.PosternCliIT.run("pki", "device", "show", "laptop-c",
                "--dir", pki.dataDir.toString(), "--json");
        assertThat(shown.code()).as(shown.err()).isZero();
        JsonNode charterShown = JSON.readTree(shown.out()).path("charterAccepted");
        assertThat(charterShown.path("version").asInt()).isEqualTo(1);
        assertThat(charterShown.path("sha256").asText()).isEqualTo(v1Sha);
        assertThat(charterShown.path("by").asText()).isEqualTo("alice");
        assertThat(org.postern.cli.PosternCliIT.run("pki", "device", "show", "laptop-c", "--dir", pki.dataDir.toString()).out())
                .contains("charterAccepted: version 1 at " + acceptedAt + " by alice (text sha256 " + v1Sha + ")");

        // a device that read version 1 and accepts after the operator changed it is told to read it again
        CharterClient client = new CharterClient(new AgentHome(home), System.getenv());
        CharterClient.Charter readBefore = client.fetch().orElseThrow();

        // the operator reloads version 2: refused again, naming version 2
        Files.writeString(work.resolve("charter.txt"), V2);
        writeConfig(2);
        ReloadResult reload = gateway.reloader().reload("test"); // the file watcher may have reloaded it first
        assertThat(reload.ok()).as(reload.problems().toString()).isTrue();
        assertThat(gateway.liveSettings().current().settings().charter().version()).isEqualTo(2);
        assertThat(events("admin.reload", null)).anySatisfy(r -> assertThat(r.path("changed").toString()).contains("\"charter\""));
        assertRefusedForCharter("a tunnel after version 2 was published");
        awaitOutput("403 charter.not_accepted; run `postern-agent charter` to read and accept version 2", Duration.ofSeconds(15));
        assertThat(events("access.denied", "laptop-c")).last().satisfies(d -> assertThat(d.path("detail").asText())
                .endsWith("accepted, found version 1 accepted at " + acceptedAt));

        assertThatThrownBy(() -> client.accept(readBefore, CharterClient.How.FLAG)).hasMessageContaining("HTTP 409 charter.mismatch")
                .hasMessageContaining("expected an acceptance of version 2");
        AgentUpIT.Run declined = AgentUpIT.agent("--home", home.toString(), "charter");
        assertThat(declined.code()).isEqualTo(1);
        assertThat(declined.out()).contains("I never lend my laptop, not even to family.")
                .contains("the gateway now requires version 2")
                .contains("NOT accepted");
        assertRefusedForCharter("a tunnel after declining version 2");

        AgentUpIT.Run again = AgentUpIT.agent("--home", home.toString(), "charter", "--accept");
        assertThat(again.code()).as(again.out() + again.err()).isZero();
        assertThat(events("charter.accepted", "laptop-c")).extracting(n -> n.path("version").asInt()).containsExactly(1, 2);
        assertThat(events("charter.accepted", "laptop-c").getLast().path("textSha256").asText()).isEqualTo(new Charter(2, V2).sha256());
        assertThat(echoes()).as("a tunnel once version 2 is accepted").isTrue();
        assertThat(events("charter.accepted", "laptop-c").getLast().path("how").asText()).as("--accept").isEqualTo("flag");

        // the operator edits only the text, version 2 unchanged: the watcher on charter.file reloads it (no SIGHUP,
        // no reload call here), and the acceptance of version 2's earlier words no longer admits
        String v2b = V2 + "I report a lost laptop within the hour.\n";
        Files.writeString(work.resolve("charter.txt"), v2b);
        String v2bSha = new Charter(2, v2b).sha256();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                .until(() -> gateway.liveSettings().current().settings().charter().sha256().equals(v2bSha));
        assertRefusedForCharter("a tunnel after the text of version 2 changed");
        assertThat(events("access.denied", "laptop-c")).last().satisfies(d -> assertThat(d.path("detail").asText())
                .contains("with another text (sha256 " + new Charter(2, V2).sha256() + ")"));
        AgentUpIT.Run shownAgain = AgentUpIT.agent("--home", home.toString(), "charter");
        assertThat(shownAgain.code()).isEqualTo(1);
        assertThat(shownAgain.out()).contains("I report a lost laptop within the hour.").contains("with another text");
        AgentUpIT.Run third = AgentUpIT.agent("--home", home.toString(), "charter", "--accept");
        assertThat(third.code()).as(third.out() + third.err()).isZero();
        assertThat(events("charter.accepted", "laptop-c").getLast().path("textSha256").asText()).isEqualTo(v2bSha);
        assertThat(echoes()).as("a tunnel once the new text is accepted").isTrue();
    }

    @Test
    void sshBanner_showsTheCharter_toOpenSsh() throws Exception {
        Process ssh = new ProcessBuilder("ssh", "-F", "/dev/null", "-p", Integer.toString(sshPort), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no",
                "-o", "ConnectTimeout=10", "alice@127.0.0.1", "true")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertThat(ssh.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(ssh.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ssh.exitValue()).as(out).isEqualTo(255); // no Postern certificate: refused, after the banner
        assertThat(out).contains("Remote-work charter, version 1 (sha256 " + new Charter(1, V1).sha256().substring(0, 16))
                .contains("I keep my laptop locked when I step away.")
                .contains("Sessions need version 1 of this charter accepted on your laptop: run `postern-agent charter`.");
    }

    void startUp() throws Exception {
        socks = AgentUpIT.freePort();
        Path agentYaml = Files.writeString(work.resolve("agent.yaml"), """
                socks:
                  listen: 127.0.0.1:%d
                reconnect:
                  minBackoff: 1s
                  maxBackoff: 2s
                """.formatted(socks));
        upOut = work.resolve("up.out");
        up = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
                "-Dlogback.configurationFile=postern-agent-logback.xml", "org.postern.agent.cli.AgentCommand",
                "--home", home.toString(), "up", "--config", agentYaml.toString())
                .redirectErrorStream(true).redirectOutput(upOut.toFile()).start();
        awaitOutput("posture NOT compliant, allowed (report-only)", Duration.ofSeconds(120));
    }

    /**
     * Whether a tunnel through the agent's SOCKS5 listener to the echo server echoes: false only when
     * the agent answered the CONNECT with a failure code; a listener that is down, or an agent that
     * hangs up, throws (a refusal must not pass for the wrong reason).
     */
    boolean echoes() throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), socks), 10_000);
            int reply = socksConnect(s);
            if (reply != 0) {
                return false;
            }
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readNBytes(5), StandardCharsets.US_ASCII).equals("ping\n");
        }
    }

    /** SOCKS5 (RFC 1928), no authentication, CONNECT 127.0.0.1:echo: the reply code (0 succeeded); throws on anything else. */
    int socksConnect(Socket s) throws IOException {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        out.write(new byte[] {5, 1, 0});
        out.flush();
        byte[] method = in.readNBytes(2);
        if (method.length != 2 || method[0] != 5 || method[1] != 0) {
            throw new IOException("SOCKS5 greeting: expected 05 00, found " + java.util.HexFormat.of().formatHex(method));
        }
        int port = echo.getLocalPort();
        out.write(new byte[] {5, 1, 0, 1, 127, 0, 0, 1, (byte) (port >> 8), (byte) port});
        out.flush();
        byte[] reply = in.readNBytes(10); // IPv4 bound address: the agent answers 0.0.0.0:0
        if (reply.length != 10 || reply[0] != 5) {
            throw new IOException("SOCKS5 reply: expected 10 bytes starting 05, found " + java.util.HexFormat.of().formatHex(reply));
        }
        return reply[1] & 0xff;
    }

    /**
     * A tunnel attempt is refused by the agent (a SOCKS failure code, not a dead listener), and the
     * gateway wrote a new {@code access.denied} {@code charter.not_accepted} for this very CONNECT.
     */
    void assertRefusedForCharter(String why) throws Exception {
        int before = charterDenials();
        assertThat(echoes()).as(why).isFalse();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThat(charterDenials()).as(why + ": a new access.denied charter.not_accepted for the CONNECT").isGreaterThan(before));
    }

    int charterDenials() throws IOException {
        String dest = "127.0.0.1:" + echo.getLocalPort();
        return (int) events("access.denied", "laptop-c").stream()
                .filter(d -> d.path("reason").asText().equals("charter.not_accepted") && d.path("dest").asText().equals(dest)).count();
    }

    void awaitOutput(String text, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            assertThat(up.isAlive()).as("postern-agent up exited: " + Files.readString(upOut)).isTrue();
            assertThat(Files.readString(upOut)).contains(text);
        });
    }

    List<JsonNode> events(String type, String device) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(pki.dataDir.resolve("audit/trail"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (!line.isBlank()) {
                        JsonNode n = JSON.readTree(line);
                        if (type.equals(n.path("type").asText()) && (device == null || device.equals(n.path("device").asText(null)))) {
                            out.add(n);
                        }
                    }
                }
            }
        }
        return out;
    }

}
