package org.postern.cli.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.cli.PosternCliIT;
import org.postern.cli.PosternCliIT.Run;
import org.postern.config.Secret;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.server.GatewayServer;
import org.postern.gateway.session.SessionDirectory;
import org.postern.gateway.session.SessionInfo;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestCsrs;

/**
 * {@code postern gateway sessions|kill} against a running gateway's admin endpoint, and
 * {@code postern gateway run --log-format json} as a real process: JSON lines, no secret in them.
 */
class GatewayAdminCliIT {
    static final String PASSPHRASE = "correct horse battery staple";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path data;
    Path pass;
    Path config;

    /** Sessions the test puts in; kill removes one. */
    static final class TestSessions implements SessionDirectory {
        final Map<String, SessionInfo> live = new ConcurrentHashMap<>();

        @Override
        public List<SessionInfo> sessions() {
            return List.copyOf(live.values());
        }

        @Override
        public boolean kill(String sessionId, String by) {
            return live.remove(sessionId) != null;
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        data = tmp.resolve("data");
        pass = Files.writeString(tmp.resolve("pass.txt"), PASSPHRASE + "\n");
        Run init = PosternCliIT.run("pki", "init", "--dir", data.toString(), "--passphrase-file", pass.toString());
        assertThat(init.code()).as(init.err()).isZero();
        config = tmp.resolve("gateway.yaml");
        Files.writeString(config, """
                gateway:
                  id: gw-cli-test
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                audit:
                  minFree: 1MiB
                """.formatted(data, freePort(), freePort(), freePort()));
    }

    Run issueAdmin(String name, String role) {
        Run r = PosternCliIT.run("pki", "issue-admin", "--dir", data.toString(), "--name", name, "--role", role,
                "--passphrase-file", pass.toString());
        assertThat(r.code()).as(r.err()).isZero();
        return r;
    }

    @Test
    void sessionsAndKill_againstTheRunningGateway() throws Exception {
        issueAdmin("ops", "security-admin");
        TestSessions sessions = new TestSessions();
        sessions.live.put("s-1", new SessionInfo("s-1", "laptop-1", "alice", "192.0.2.10:50000", "tls",
                Instant.parse("2026-11-30T06:00:00Z"), 2, 1234, 5_767_168, Instant.parse("2026-11-30T06:10:00Z")));
        GatewayServer gw = GatewayServer.start(GatewaySettings.load(config), new KeyProtection.Passphrase(Secret.of(PASSPHRASE)),
                Clock.systemUTC(), new SecureRandom(), GatewayServer.Options.DEFAULTS.withConfigFile(config, false)
                        .withSessions(sessions));
        try {
            Run table = PosternCliIT.run("gateway", "sessions", "--config", config.toString());
            assertThat(table.code()).as(table.err()).isZero();
            assertThat(table.out()).contains("SESSION  DEVICE    USER   SOURCE            ADDRESS  SINCE                 FLOWS  BYTES UP/DOWN  LEASE END")
                    .contains("s-1      laptop-1  alice  192.0.2.10:50000           2026-11-30T06:00:00Z  2      1.2KiB/5.5MiB  2026-11-30T06:10:00Z");

            Run json = PosternCliIT.run("gateway", "sessions", "--json", "--config", config.toString());
            assertThat(json.code()).as(json.err()).isZero();
            assertThat(JSON.readTree(json.out()).get("sessions").get(0).get("bytesDown").asLong()).isEqualTo(5_767_168);

            Run kill = PosternCliIT.run("gateway", "kill", "s-1", "--config", config.toString());
            assertThat(kill.code()).as(kill.err()).isZero();
            assertThat(kill.out()).contains("Ended session s-1");
            assertThat(sessions.live).isEmpty();
            assertThat(PosternCliIT.run("gateway", "sessions", "--config", config.toString()).out()).contains("No live sessions.");

            Run again = PosternCliIT.run("gateway", "kill", "s-1", "--config", config.toString());
            assertThat(again.code()).isEqualTo(1);
            assertThat(again.err()).contains("session s-1 not ended: no live session s-1 (session.unknown)");

            // two admin certificates: the CLI asks which one
            issueAdmin("eve", "auditor");
            Run ambiguous = PosternCliIT.run("gateway", "sessions", "--config", config.toString());
            assertThat(ambiguous.code()).isEqualTo(2);
            assertThat(ambiguous.err()).contains("found 2 (eve.crt, ops.crt); choose one with --cert FILE --key FILE");
            sessions.live.put("s-2", new SessionInfo("s-2", "laptop-2", "bob", "192.0.2.11:50001", "tls",
                    Instant.parse("2026-11-30T06:01:00Z"), 0, 0, 0, null));
            Run auditorKill = PosternCliIT.run("gateway", "kill", "s-2", "--config", config.toString(),
                    "--cert", data.resolve("admin/eve.crt").toString());
            assertThat(auditorKill.code()).isEqualTo(1);
            assertThat(auditorKill.err()).contains("role auditor may not kill (admin.role_forbidden)");
            assertThat(sessions.live).containsKey("s-2");
        } finally {
            gw.close();
        }
        Run down = PosternCliIT.run("gateway", "sessions", "--config", config.toString(),
                "--cert", data.resolve("admin/ops.crt").toString());
        assertThat(down.code()).isEqualTo(6);
        assertThat(down.err()).contains("cannot reach the gateway's admin endpoint at https://127.0.0.1:")
                .contains("is the gateway running?");
    }

    /** Issue 11 item 18: an admin certificate revoked with {@code pki admin revoke} is refused by the running gateway. */
    @Test
    void adminRevoke_theRunningGatewayRefusesTheRevokedCertificate() throws Exception {
        issueAdmin("ops", "security-admin");
        issueAdmin("eve", "auditor");
        String opsCert = data.resolve("admin/ops.crt").toString();
        String eveCert = data.resolve("admin/eve.crt").toString();
        GatewayServer gw = GatewayServer.start(GatewaySettings.load(config), new KeyProtection.Passphrase(Secret.of(PASSPHRASE)),
                Clock.systemUTC(), new SecureRandom(), GatewayServer.Options.DEFAULTS.withConfigFile(config, false)
                        .withSessions(new TestSessions()));
        try {
            Run before = PosternCliIT.run("gateway", "sessions", "--config", config.toString(), "--cert", opsCert);
            assertThat(before.code()).as(before.err()).isZero();

            Run revoke = PosternCliIT.run("pki", "admin", "revoke", "ops", "--reason", "keyCompromise",
                    "--dir", data.toString(), "--passphrase-file", pass.toString());
            assertThat(revoke.code()).as(revoke.err()).isZero();

            Run after = PosternCliIT.run("gateway", "sessions", "--config", config.toString(), "--cert", opsCert);
            assertThat(after.code()).as(after.out()).isEqualTo(1);
            assertThat(after.err()).contains("the gateway refused to list sessions");
            // curl with the revoked certificate: refused too; the other admin is still served
            String admin = "https://127.0.0.1:" + gw.adminAddress().getPort() + "/v1/sessions";
            String chain = data.resolve("ca/chain.pem").toString();
            Proc.Result refused = Proc.run(tmp, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", chain,
                    "--cert", opsCert, "--key", data.resolve("admin/ops.key").toString(), admin);
            assertThat(refused.stdout()).isEqualTo("403");
            Run eve = PosternCliIT.run("gateway", "sessions", "--config", config.toString(), "--cert", eveCert);
            assertThat(eve.code()).as(eve.err()).isZero();
        } finally {
            gw.close();
        }
    }

    @Test
    void run_jsonLogs_carryNoSecret() throws Exception {
        issueAdmin("ops", "security-admin");
        Run added = PosternCliIT.run("pki", "device", "add", "laptop-1", "--owner", "alice", "--groups", "admins",
                "--json", "--dir", data.toString(), "--passphrase-file", pass.toString());
        assertThat(added.code()).as(added.err()).isZero();
        String token = JSON.readTree(added.out()).get("token").asText();
        GatewaySettings settings = GatewaySettings.load(config);

        Path out = tmp.resolve("gw.out");
        Path err = tmp.resolve("gw.err");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "org.postern.cli.PosternCommand", "gateway", "run", "--config", config.toString(), "--log-format", "json")
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("POSTERN_CA_PASSPHRASE", PASSPHRASE);
        pb.environment().put("POSTERN_LOG_LEVEL", "DEBUG"); // the most a run logs
        Process gw = pb.start();
        List<String> secrets = new ArrayList<>(List.of(PASSPHRASE, token));
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> !gw.isAlive() || Files.readString(out).contains("Stop with Ctrl-C."));
            assertThat(gw.isAlive()).as(Files.readString(err)).isTrue();
            String tunnel = "https://127.0.0.1:" + settings.listeners().tunnel().port();
            String admin = "https://127.0.0.1:" + settings.listeners().admin().port();
            String chain = data.resolve("ca/chain.pem").toString();

            // a typical run: a wrong token, an enrollment with the right one, admin reads, a reload, a bad reload
            KeyPair keys = TestCsrs.p256();
            Path csr = Files.write(tmp.resolve("csr.b64"), TestCsrs.body(keys, "laptop-1"));
            Proc.run(tmp, "curl", "-sS", "--cacert", chain, "--user", "laptop-1:not-the-token", "-H",
                    "Content-Type: application/pkcs10", "--data-binary", "@" + csr, tunnel + "/.well-known/est/simpleenroll");
            Proc.Result enrolled = Proc.run(tmp, "curl", "-sS", "--fail", "--cacert", chain, "--user", "laptop-1:" + token, "-H",
                    "Content-Type: application/pkcs10", "--data-binary", "@" + csr, tunnel + "/.well-known/est/simpleenroll");
            assertThat(enrolled.exit()).as(enrolled.all()).isZero();
            String adminCert = data.resolve("admin/ops.crt").toString();
            String adminKey = data.resolve("admin/ops.key").toString();
            Proc.run(tmp, "curl", "-sS", "--fail", "--cacert", chain, "--cert", adminCert, "--key", adminKey,
                    admin + "/v1/sessions").ok();
            Proc.run(tmp, "curl", "-sS", "--fail", "--cacert", chain, "--cert", adminCert, "--key", adminKey,
                    "-X", "POST", admin + "/v1/reload").ok();
            Files.writeString(config, Files.readString(config) + "limits:\n  idleTimeot: 5m\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(err).contains("idleTimeot"));

            for (Path keyFile : List.of(data.resolve("admin/ops.key"), data.resolve("server/127.0.0.1.key"),
                    data.resolve("audit.key"))) {
                secrets.add(pemBody(keyFile));
            }
            secrets.add(Base64.getEncoder().encodeToString(keys.getPrivate().getEncoded()).substring(0, 40));
        } finally {
            gw.destroy(); // SIGTERM: the shutdown hook closes the gateway
            if (!gw.waitFor(20, TimeUnit.SECONDS)) {
                gw.destroyForcibly();
            }
        }
        String log = Files.readString(err, StandardCharsets.UTF_8);
        List<JsonNode> lines = new ArrayList<>();
        // every line is JSON, except the JVM's own start-up warnings (not Logback's)
        for (String line : log.lines().filter(l -> !l.isBlank() && !l.startsWith("WARNING: ")).toList()) {
            assertThat(line).as("a JSON log line").startsWith("{");
            lines.add(JSON.readTree(line));
        }
        assertThat(lines).anySatisfy(l -> assertThat(l.path("formattedMessage").asText()).contains("listening on https://"));
        assertThat(lines).anySatisfy(l -> {
            assertThat(l.path("level").asText()).isEqualTo("ERROR");
            assertThat(l.path("formattedMessage").asText()).contains("limits.idleTimeot: unknown key");
        });
        String everything = log + Files.readString(out, StandardCharsets.UTF_8);
        for (String secret : secrets) {
            assertThat(everything).as("a secret in the logs").doesNotContain(secret);
        }
    }

    /** The base64 body of a PEM file, without its armour: what would leak if the key were logged. */
    static String pemBody(Path pem) throws IOException {
        String body = Files.readString(pem).lines().filter(l -> !l.startsWith("-----")).reduce("", String::concat);
        assertThat(body).as(pem + " has a body").hasSizeGreaterThan(40);
        return body.substring(0, 40);
    }

    static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }
}
