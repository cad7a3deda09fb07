package org.postern.cli.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.postern.cli.PosternCliIT;
import org.postern.cli.TrailFiles;
import org.postern.cli.agent.AgentUpIT;
import org.postern.cli.PosternCliIT.Run;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPostgres;

/**
 * Issue 14's reference deployment, every part a real process on loopback: PostgreSQL (the shared
 * registry), two gateways ({@code postern gateway run}, each its own data directory copy, audit
 * trail and id) and HAProxy in TCP mode sending PROXY v2 from 127.0.0.3 (the only trusted proxy), gateway B its backup.
 * A laptop ({@code postern-agent}) enrolls and tunnels through HAProxy, on A; PostgreSQL stops and
 * the gateways fail closed (audited; after {@code registry.maxStale} the agent's live session on A
 * ends as {@code registry_unavailable}, new tunnels and handshakes are refused) and recover when it
 * returns, the agent back on A; gateway A is SIGKILLed and the agent is back through B within 10 s
 * on the same SOCKS5 port; two gateways redeem one token at once and exactly one wins; a revocation
 * made with A's data directory ends the session on B within 2 s;
 * {@code postern audit verify|search} take both trails and merge them by time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
    static final String PASSPHRASE = "correct horse battery staple";
    static final String PROXY_SOURCE = "127.0.0.3";
    static final Duration MAX_STALE = Duration.ofSeconds(3);
    static final ObjectMapper JSON = new ObjectMapper();

    Path work;
    TestPostgres pg;
    HttpServer web;
    Path pass;
    Path pkiYaml;
    Gateway a;
    Gateway b;
    int haproxyPort;
    Process haproxy;
    Path haproxyLog;
    Path home;
    int socks;
    Process up;
    Path upOut;
    String initOut;

    /** One gateway process and where it writes. */
    final class Gateway {
        final String id;
        final Path data;
        final Path config;
        final int tunnel;
        final Path out;
        Process process;

        Gateway(String id, Path data, int tunnel) throws IOException {
            this.id = id;
            this.data = data;
            this.tunnel = tunnel;
            this.config = work.resolve(id + ".yaml");
            this.out = work.resolve(id + ".out");
            Files.writeString(config, """
                    gateway:
                      id: %s
                    dataDir: %s
                    registry:
                      url: %s
                      user: %s
                      passwordFile: %s
                      maxStale: %ds
                    listeners:
                      tunnel: 127.0.0.1:%d
                      admin: 127.0.0.1:%d
                      ssh: 127.0.0.1:%d
                    proxyProtocol:
                      tunnel:
                        trustedProxies: [%s/32]
                    posture:
                      mode: report-only
                    access:
                      rules:
                        - name: admins-to-web
                          groups: [admins]
                          to: ["127.0.0.1:%d"]
                    audit:
                      minFree: 1MiB
                      checkpointInterval: 5s
                    """.formatted(id, data, pg.url(), pg.user(), passwordFile(), MAX_STALE.toSeconds(), tunnel, AgentUpIT.freePort(),
                    AgentUpIT.freePort(), PROXY_SOURCE, web.getAddress().getPort()));
        }

        void start() throws Exception {
            ProcessBuilder pb = new ProcessBuilder(java(), "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), "org.postern.cli.PosternCommand", "gateway", "run",
                    "--config", config.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
            pb.environment().put("POSTERN_CA_PASSPHRASE", PASSPHRASE);
            int before = Files.exists(out) ? Files.readString(out).length() : 0; // a restart appends to the same file
            process = pb.start();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
                String now = Files.readString(out).substring(before);
                assertThat(process.isAlive()).as(id + " exited: " + now).isTrue();
                return now.contains("Stop with Ctrl-C.");
            });
        }

        /** SIGKILL: no shutdown hook runs, connections are reset as when the machine dies. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }

        void stop() throws InterruptedException {
            if (process != null && process.isAlive()) {
                process.destroy();
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }

        Path trail() {
            return data.resolve("audit/trail");
        }

        /** Every record of this gateway's trail, in file order. */
        List<JsonNode> records() throws IOException {
            return TrailFiles.records(trail());
        }

        List<JsonNode> records(String type) throws IOException {
            return records().stream().filter(r -> type.equals(r.path("type").asText())).toList();
        }
    }

    @BeforeAll
    void start() throws Exception {
        for (String tool : List.of("/usr/bin/curl", "/usr/sbin/haproxy")) {
            assertThat(Path.of(tool)).as(tool + " is needed (Debian packages curl, haproxy)").exists();
        }
        work = Files.createTempDirectory("postern-cluster");
        pg = TestPostgres.start(work.resolve("pg"));
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", x -> {
            byte[] body = "hello from the admin host\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        web.start();
        pass = Files.writeString(work.resolve("pass.txt"), PASSPHRASE + "\n");
        pkiYaml = Files.writeString(work.resolve("pki.yaml"), """
                registry:
                  url: %s
                  user: %s
                  passwordFile: %s
                """.formatted(pg.url(), pg.user(), passwordFile()));

        // one CA, initialised once with the shared registry; each gateway gets its own copy of the
        // data directory (the issuing key encrypted at rest, docs/operations.md "Who issues")
        Path dataA = work.resolve("data-a");
        Run init = pki("init", "--dir", dataA.toString());
        assertThat(init.code()).as(init.err()).isZero();
        initOut = init.out();
        Path dataB = work.resolve("data-b");
        copyTree(dataA, dataB);

        a = new Gateway("gw-a", dataA, AgentUpIT.freePort());
        b = new Gateway("gw-b", dataB, AgentUpIT.freePort());
        a.start();
        b.start();
        startHaproxy();
        home = work.resolve("agent");
        socks = AgentUpIT.freePort();
    }

    @AfterAll
    void stop() throws Exception {
        if (up != null && up.isAlive()) {
            up.destroy();
            if (!up.waitFor(10, TimeUnit.SECONDS)) {
                up.destroyForcibly();
            }
        }
        if (haproxy != null && haproxy.isAlive()) {
            haproxy.destroy();
            haproxy.waitFor(10, TimeUnit.SECONDS);
        }
        for (Gateway g : new Gateway[] {a, b}) {
            if (g != null) {
                g.stop();
            }
        }
        if (web != null) {
            web.stop(0);
        }
        if (pg != null) {
            pg.close();
        }
        if (work != null) {
            Proc.run(work.getParent(), Duration.ofSeconds(60), "rm", "-rf", work.toString()).ok();
        }
    }

    @Test
    @Order(1)
    void enrollAndTunnel_throughHaproxy_onGatewayA_withTheLaptopsAddress() throws Exception {
        Run added = pki("device", "add", "laptop-c1", "--owner", "alice", "--groups", "admins", "--json", "--dir",
                a.data.toString());
        assertThat(added.code()).as(added.err()).isZero();
        Path token = Files.writeString(work.resolve("token"), JSON.readTree(added.out()).get("token").asText() + "\n");
        String viaHaproxy = "https://127.0.0.1:" + haproxyPort;
        AgentUpIT.Run enrolled = AgentUpIT.agent("--home", home.toString(), "enroll", "--gateway", viaHaproxy, "--token-file",
                token.toString(), "--ca-sha256", rootSha256());
        assertThat(enrolled.code()).as(enrolled.err()).isZero();

        Path config = Files.writeString(work.resolve("agent.yaml"), """
                socks:
                  listen: 127.0.0.1:%d
                posture:
                  retryInterval: 2s
                reconnect:
                  minBackoff: 200ms
                  maxBackoff: 1s
                """.formatted(socks));
        upOut = work.resolve("up.out");
        up = new ProcessBuilder(java(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dlogback.configurationFile=postern-agent-logback.xml", "org.postern.agent.cli.AgentCommand",
                "--home", home.toString(), "up", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(upOut.toFile()).start();
        awaitOutput("posture NOT compliant, allowed (report-only)", Duration.ofSeconds(120));
        assertThat(viaSocks().stdout()).isEqualTo("hello from the admin host\n");

        // HAProxy's backend is A while A is up; A saw the laptop's own address through PROXY v2, not 127.0.0.3
        JsonNode start = await().atMost(Duration.ofSeconds(10)).until(() -> last(a.records("session.start"), "laptop-c1"),
                r -> r != null);
        assertThat(start.path("gateway").asText()).isEqualTo("gw-a");
        assertThat(start.path("source").asText()).startsWith("127.0.0.1:").doesNotStartWith(PROXY_SOURCE);
        assertThat(b.records("session.start")).noneMatch(r -> "laptop-c1".equals(r.path("device").asText()));
    }

    @Test
    @Order(3)
    void gatewayAKilled_theAgentIsBackThroughB_within10s_onTheSameSocksPort() throws Exception {
        long killedAt = System.nanoTime();
        a.kill();
        // open tunnels break; new ones go through B, found by HAProxy's health check
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> viaSocks().exit() == 0);
        long recoveredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        System.out.printf("cluster: gateway A SIGKILLed, a new tunnel through B after %d ms%n", recoveredMs);
        assertThat(recoveredMs).isLessThanOrEqualTo(10_000);
        assertThat(last(b.records("session.start"), "laptop-c1")).as("the session moved to B").isNotNull();
        assertThat(upOut()).contains("lost");
        a.start(); // A comes back; HAProxy sends new connections to it again, the agent's connection stays on B
    }

    @Test
    @Order(2)
    void postgresStopped_gatewaysFailClosed_audited_thenRecover() throws Exception {
        Gateway g = holder("laptop-c1");
        assertThat(g).as("HAProxy's primary serves the agent").isSameAs(a);
        int endsBefore = g.records("session.end").size();
        java.time.Instant stoppedAt = java.time.Instant.now();
        pg.stop();
        try {
            await().atMost(MAX_STALE.plusSeconds(5)).pollInterval(Duration.ofMillis(200)).until(() ->
                    !b.records("registry.unavailable").isEmpty() && !a.records("registry.unavailable").isEmpty());
            // fail closed is not only a closed door: the live session on A ends once A cannot see revocations
            // made elsewhere (issue 14 review), with the reason in B's trail and in the agent's GOAWAY
            JsonNode end = await().atMost(MAX_STALE.plusSeconds(15)).pollInterval(Duration.ofMillis(200)).until(() ->
                    g.records("session.end").stream().skip(endsBefore).filter(r -> "laptop-c1".equals(r.path("device").asText()))
                            .findFirst().orElse(null), r -> r != null);
            assertThat(end.path("reason").asText()).as(end.toString()).isEqualTo("registry_unavailable");
            java.time.Instant endedAt = java.time.Instant.parse(end.path("time").asText());
            System.out.printf("cluster: PostgreSQL stopped, the session on A ended as registry_unavailable after %d ms (maxStale %d s)%n",
                    Duration.between(stoppedAt, endedAt).toMillis(), MAX_STALE.toSeconds());
            assertThat(endedAt).as("not before maxStale (less one poll)").isAfter(stoppedAt.plus(MAX_STALE).minusSeconds(1));
            awaitOutput("closed by the gateway: registry_unavailable (the gateway cannot read its device registry)",
                    Duration.ofSeconds(10));
            // new tunnels are refused while the registry cannot be read (the gate reads the device)
            assertThat(viaSocks().exit()).isNotZero();
            // a new handshake is refused once the view is older than maxStale
            Proc.Result handshake = Proc.run(work, Duration.ofSeconds(30), "/usr/bin/curl", "-sS", "--max-time", "10",
                    "--cacert", home.resolve("ca.pem").toString(), "--cert", home.resolve("device.crt").toString(),
                    "--key", home.resolve("device.key").toString(), "-o", "/dev/null", "-w", "%{http_code}",
                    "https://127.0.0.1:" + g.tunnel + "/v1/posture/challenge", "-X", "POST");
            assertThat(handshake.stdout()).as(handshake.all()).isNotEqualTo("200");
        } finally {
            pg.restart();
        }
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() ->
                !a.records("registry.available").isEmpty() && !b.records("registry.available").isEmpty());
        // the agent, refused meanwhile (a refusal the CRL does not confirm is not a revocation), is back
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> viaSocks().exit() == 0);
        assertThat(up.isAlive()).as("postern-agent up runs on: " + upOut()).isTrue();
    }

    /** The gateway whose trail has the device's latest {@code session.start}. */
    Gateway holder(String device) throws IOException {
        JsonNode onA = last(a.records("session.start"), device);
        JsonNode onB = last(b.records("session.start"), device);
        if (onA == null || onB == null) {
            return onA == null ? b : a;
        }
        return onA.path("time").asText().compareTo(onB.path("time").asText()) > 0 ? a : b;
    }

    @Test
    @Order(4)
    void oneToken_twoGatewaysAtTheSameInstant_exactlyOneWins() throws Exception {
        Run added = pki("device", "add", "laptop-race", "--owner", "bob", "--groups", "admins", "--json", "--dir",
                a.data.toString());
        assertThat(added.code()).as(added.err()).isZero();
        String token = JSON.readTree(added.out()).get("token").asText();
        List<Process> racers = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        for (Gateway g : List.of(a, b)) {
            Path csrKey = work.resolve("race-" + g.id + ".key");
            Path csr = work.resolve("race-" + g.id + ".csr");
            Proc.run(work, Duration.ofSeconds(30), "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=laptop-race", "-keyout", csrKey.toString(),
                    "-outform", "DER", "-out", csr.toString()).ok();
            Path b64 = Files.writeString(work.resolve("race-" + g.id + ".b64"),
                    java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(csr)));
            Path out = work.resolve("race-" + g.id + ".out");
            outs.add(out);
            // direct to each gateway (from 127.0.0.1: not a proxy, no PROXY header needed)
            racers.add(new ProcessBuilder("/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                    a.data.resolve("ca/chain.pem").toString(), "--user", "laptop-race:" + token, "-H",
                    "Content-Type: application/pkcs10", "--data-binary", "@" + b64,
                    "https://127.0.0.1:" + g.tunnel + "/.well-known/est/simpleenroll")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start());
        }
        for (Process p : racers) {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        List<String> codes = new ArrayList<>();
        for (Path out : outs) {
            codes.add(Files.readString(out).strip());
        }
        assertThat(codes).as("HTTP codes from A and B").containsOnlyOnce("200");
        assertThat(codes.stream().filter(c -> !c.equals("200")).toList()).allSatisfy(c -> assertThat(c).startsWith("4"));
    }

    @Test
    @Order(5)
    void revokedWithAsDataDirectory_theSessionOnBEnds_within2s() throws Exception {
        // since A was killed the agent's connection is on B; the revocation goes through A's data directory
        Gateway g = holder("laptop-c1");
        assertThat(g).as("the agent's session is on B").isSameAs(b);
        Run revoke = pki("device", "revoke", "laptop-c1", "--reason", "keyCompromise", "--dir", a.data.toString());
        long revokedAt = System.nanoTime();
        assertThat(revoke.code()).as(revoke.err()).isZero();
        JsonNode end = await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() ->
                g.records("session.end").stream().filter(r -> "laptop-c1".equals(r.path("device").asText())
                        && "revoked".equals(r.path("reason").asText())).findFirst().orElse(null), r -> r != null);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - revokedAt);
        System.out.printf("cluster: revoked with A's data directory, the session on %s ended after %d ms (record %s)%n", g.id, ms, end);
        assertThat(ms).isLessThanOrEqualTo(2_000);
        // and the agent does not get back in through either gateway
        assertThat(viaSocks().exit()).isNotZero();
    }

    @Test
    @Order(6)
    void audit_bothTrails_verifiedAndMergedByTime() throws Exception {
        a.stop();
        b.stop(); // a clean stop signs the last checkpoint
        Run verify = PosternCliIT.run("audit", "verify", a.trail().toString(), b.trail().toString());
        assertThat(verify.code()).as(verify.out() + verify.err()).isZero();
        Run search = PosternCliIT.run("audit", "search", "--device", "laptop-c1", "--json", a.trail().toString(),
                b.trail().toString());
        assertThat(search.code()).as(search.err()).isZero();
        List<JsonNode> merged = search.out().lines().filter(l -> l.startsWith("{")).map(ClusterIT::json).toList();
        assertThat(merged).extracting(r -> r.path("gateway").asText()).contains("gw-a", "gw-b");
        // a k-way merge of the trails, each in its written order (docs/audit.md): a gateway may write a record a few
        // ms before one stamped earlier (two threads), so time order holds where the merge switches trails, and
        // each trail keeps its own sequence
        for (int i = 1; i < merged.size(); i++) {
            JsonNode prev = merged.get(i - 1);
            JsonNode next = merged.get(i);
            if (prev.path("gateway").asText().equals(next.path("gateway").asText())) {
                assertThat(next.path("seq").asLong()).as("%s after %s", next, prev).isGreaterThan(prev.path("seq").asLong());
            } else {
                assertThat(next.path("time").asText()).as("%s after %s", next, prev).isGreaterThanOrEqualTo(prev.path("time").asText());
            }
        }
    }

    // --- helpers ---

    void startHaproxy() throws Exception {
        haproxyPort = AgentUpIT.freePort();
        haproxyLog = work.resolve("haproxy.out");
        Path cfg = Files.writeString(work.resolve("haproxy.cfg"), """
                global
                  maxconn 1000
                defaults
                  mode tcp
                  timeout connect 2s
                  timeout client 1h
                  timeout server 1h
                  option redispatch
                  retries 2
                frontend postern
                  bind 127.0.0.1:%d
                  default_backend gateways
                backend gateways
                  server gw-a 127.0.0.1:%d send-proxy-v2 check check-send-proxy inter 300ms fall 1 rise 2 source %s
                  server gw-b 127.0.0.1:%d send-proxy-v2 check check-send-proxy inter 300ms fall 1 rise 2 source %s backup
                """.formatted(haproxyPort, a.tunnel, PROXY_SOURCE, b.tunnel, PROXY_SOURCE));
        Proc.run(work, Duration.ofSeconds(30), "/usr/sbin/haproxy", "-c", "-f", cfg.toString()).ok();
        haproxy = new ProcessBuilder("/usr/sbin/haproxy", "-f", cfg.toString(), "-db")
                .redirectErrorStream(true).redirectOutput(haproxyLog.toFile()).start();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> {
            assertThat(haproxy.isAlive()).as("haproxy exited: " + Files.readString(haproxyLog)).isTrue();
            try (Socket s = new Socket("127.0.0.1", haproxyPort)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    Run pki(String... args) {
        List<String> all = new ArrayList<>(List.of("pki"));
        all.addAll(List.of(args));
        all.addAll(List.of("--config", pkiYaml.toString(), "--passphrase-file", pass.toString()));
        return PosternCliIT.run(all.toArray(String[]::new));
    }

    /** The root's fingerprint as {@code pki init} printed it, for the agent's {@code --ca-sha256}. */
    String rootSha256() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("root SHA-256[^:]*: ([0-9a-f]{64})").matcher(initOut);
        assertThat(m.find()).as(initOut).isTrue();
        return m.group(1);
    }

    Path passwordFile() throws IOException {
        Path f = work.resolve("registry.password");
        if (!Files.exists(f)) {
            Files.writeString(f, pg.password() + "\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        }
        return f;
    }

    Proc.Result viaSocks() {
        return Proc.run(work, Duration.ofSeconds(20), "/usr/bin/curl", "-sS", "--max-time", "5", "--socks5-hostname",
                "127.0.0.1:" + socks, "http://127.0.0.1:" + web.getAddress().getPort() + "/");
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

    static JsonNode last(List<JsonNode> records, String device) {
        JsonNode found = null;
        for (JsonNode r : records) {
            if (device.equals(r.path("device").asText())) {
                found = r;
            }
        }
        return found;
    }

    static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + line, e);
        }
    }

    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                    Files.setPosixFilePermissions(target, Files.getPosixFilePermissions(p));
                } else if (!from.relativize(p).startsWith("audit")) { // each gateway its own trails
                    Files.copy(p, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

}
