package org.postern.gateway.admin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;


import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.server.GatewayServer;
import org.postern.gateway.server.GatewayServerIT;
import org.postern.gateway.session.SessionDirectory;
import org.postern.gateway.session.SessionInfo;
import org.postern.pki.PkiService;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.PostureClaims;

/**
 * A gateway started from a real {@code gateway.yaml} (so it can reload), with an in-test
 * {@link SessionDirectory}, admin certificates issued as {@code postern pki issue-admin} does, a
 * loopback HTTP "admin host", and curl / JDK clients for both listeners.
 */
public final class AdminFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Sessions the test puts in; kill removes one and remembers who asked. */
    public static final class TestSessions implements SessionDirectory {
        public final Map<String, SessionInfo> live = new ConcurrentHashMap<>();
        public final List<String> killedBy = new CopyOnWriteArrayList<>();

        @Override
        public List<SessionInfo> sessions() {
            return live.values().stream().sorted(java.util.Comparator.comparing(SessionInfo::since)).toList();
        }

        @Override
        public boolean kill(String sessionId, String by) {
            if (live.remove(sessionId) == null) {
                return false;
            }
            killedBy.add(sessionId + " by " + by);
            return true;
        }
    }

    /** A certificate and key written as files, for curl. */
    public record Files2(Path cert, Path key) {
    }

    public final TestPki pki = TestPki.create();
    public final Path work = pki.workDir("admin");
    public final Path config = work.resolve("gateway.yaml");
    public final TestSessions sessions = new TestSessions();
    public final HttpServer adminHost;
    public final int tunnelPort;
    public final int adminPort;
    public final int sshPort;
    public GatewayServer gateway;

    public AdminFixture() {
        try {
            if (!Files.isExecutable(Path.of("/usr/bin/curl"))) {
                throw new AssertionError("these tests drive curl; install curl (apt-get install curl)");
            }
            tunnelPort = freePort();
            adminPort = freePort();
            sshPort = freePort();
            adminHost = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            adminHost.createContext("/", x -> {
                byte[] body = "hello from the admin host\n".getBytes(StandardCharsets.UTF_8);
                x.sendResponseHeaders(200, body.length);
                x.getResponseBody().write(body);
                x.close();
            });
            adminHost.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The gateway.yaml of this fixture, with {@code access} as given (YAML under {@code access:}). */
    public String yaml(String access) {
        return """
                gateway:
                  id: gw-admin-test
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                audit:
                  minFree: 1MiB
                access:
                %s
                """.formatted(pki.dataDir, tunnelPort, adminPort, sshPort, access.indent(2).stripTrailing());
    }

    /** An access rule letting group admins reach the loopback admin host. */
    public String ruleToAdminHost() {
        return """
                rules:
                  - name: admins-to-host
                    groups: [admins]
                    to: ["127.0.0.1/32:%d"]
                """.formatted(adminHost.getAddress().getPort());
    }

    public GatewayServer start(String access, boolean sighup) throws Exception {
        Files.writeString(config, yaml(access));
        GatewaySettings settings = GatewaySettings.load(config);
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE), Clock.systemUTC(),
                new SecureRandom(), GatewayServer.Options.DEFAULTS.withConfigFile(config, sighup).withSessions(sessions));
        return gateway;
    }

    /** Issues an admin certificate as {@code postern pki issue-admin} does and writes it (with chain) and its key. */
    public Files2 admin(String name, String role) throws IOException {
        PkiService.Issued issued = pki.service.issueAdmin(name, role, "test");
        PkiService.Issued.Files f = issued.writeTo(work.resolve("admins"), name, pki.ca.chain());
        return new Files2(f.certificate(), f.key());
    }

    /** A device of group admins, enrolled; its key and certificate also as files. */
    public record Device(String id, KeyPair keys, X509Certificate cert, Files2 files) {
    }

    public Device device(String id) {
        PkiService.NewDevice added = pki.service.addDevice(id, "alice", List.of("admins"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = pki.service.enroll(id, added.token(), TestCsrs.body(keys, id), "test");
        Path certFile = TestPki.writePem(work.resolve(id + ".crt"), cert);
        try {
            Path keyFile = Files.write(work.resolve(id + ".key"), KeyFiles.plainPem(keys.getPrivate()));
            return new Device(id, keys, cert, new Files2(certFile, keyFile));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** curl against the admin listener; -w prints the status on the last line. */
    public Proc.Result curlAdmin(Files2 who, String method, String path) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "-X", method,
                "--cacert", pki.chainFile().toString(), "-w", "\n%{http_code}"));
        if (who != null) {
            cmd.addAll(List.of("--cert", who.cert().toString(), "--key", who.key().toString()));
        }
        cmd.add("https://127.0.0.1:" + adminPort + path);
        return Proc.run(work, Duration.ofSeconds(20), cmd.toArray(String[]::new));
    }

    public static int status(Proc.Result r) {
        String out = r.stdout().strip();
        return Integer.parseInt(out.substring(out.lastIndexOf('\n') + 1).strip());
    }

    public static String body(Proc.Result r) {
        String out = r.stdout();
        return out.substring(0, Math.max(0, out.lastIndexOf('\n')));
    }

    public static JsonNode json(Proc.Result r) {
        try {
            return JSON.readTree(body(r));
        } catch (IOException e) {
            throw new AssertionError("expected JSON, found: " + r.stdout() + r.stderr(), e);
        }
    }

    /** curl through the tunnel listener to the admin host, as a device would. */
    public Proc.Result curlThrough(Device d) {
        return Proc.run(work, Duration.ofSeconds(20), "curl", "-sS", "-v", "--max-time", "10", "--proxytunnel",
                "--proxy", "https://127.0.0.1:" + tunnelPort, "--proxy-cacert", pki.chainFile().toString(),
                "--proxy-cert", d.files().cert().toString(), "--proxy-key", d.files().key().toString(),
                "http://127.0.0.1:" + adminHost.getAddress().getPort() + "/");
    }

    /** Proves posture with the given claims; returns the decision JSON. */
    public JsonNode posture(Device d, java.util.function.BiFunction<String, Instant, PostureClaims> claims) throws Exception {
        try (HttpClient client = deviceClient(d)) {
            HttpResponse<String> c = post(client, "/v1/posture/challenge", "");
            if (c.statusCode() != 200) {
                throw new AssertionError("challenge: " + c.statusCode() + " " + c.body());
            }
            String nonce = JSON.readTree(c.body()).get("nonce").asText();
            String jws = Evidence.sign(claims.apply(nonce, Instant.now()), d.keys().getPrivate(), d.cert());
            HttpResponse<String> e = post(client, "/v1/posture/evidence", "{\"evidence\":\"" + jws + "\"}");
            return JSON.readTree(e.body());
        }
    }

    /** A compliant posture (patched, encrypted Debian 12). */
    public JsonNode compliant(Device d) throws Exception {
        return posture(d, (nonce, now) -> GatewayServerIT.claims(d.id(), nonce, now));
    }

    private HttpClient deviceClient(Device d) throws Exception {
        return HttpClient.newBuilder().sslContext(pki.clientTls(d.keys().getPrivate(), d.cert()))
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private HttpResponse<String> post(HttpClient client, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + tunnelPort + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Every record of the gateway's audit trail of one type, in order. */
    public List<JsonNode> audit(String type) {
        Path dir = pki.dataDir.resolve("audit/trail");
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d+\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) {
                        JsonNode n = JSON.readTree(line);
                        if (type.equals(n.path("type").asText())) {
                            out.add(n);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Marks a certificate revoked in the registry, as another process sharing the registry would. */
    public void revokeInRegistry(X509Certificate cert) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + pki.dataDir.resolve("registry.db"));
             PreparedStatement s = c.prepareStatement(
                     "UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ?")) {
            s.setLong(1, Instant.now().toEpochMilli());
            s.setString(2, "keyCompromise");
            s.setString(3, cert.getSerialNumber().toString(16));
            if (s.executeUpdate() != 1) {
                throw new AssertionError("no certificate " + cert.getSerialNumber().toString(16) + " in the registry");
            }
        }
    }

    public static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }

    @Override
    public void close() {
        if (gateway != null) {
            gateway.close();
        }
        adminHost.stop(0);
        pki.close();
    }
}
