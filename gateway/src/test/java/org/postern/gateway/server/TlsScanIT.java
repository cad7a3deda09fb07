package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;

/**
 * testssl.sh against every TLS listener on TCP: the gateway's tunnel and admin listeners and
 * {@code postern pki serve}'s (EST, CRL, OCSP), on loopback, read from its JSON output
 * ({@code --jsonfile}), not its terminal text. Each JSON is kept in {@code target/tlsscan/}; its
 * summary is in docs/selfcheck.md "testssl.sh on the live listeners". The default settings must
 * offer TLS 1.3 alone and no weak cipher category. Every finding above LOW fails the test unless
 * it is one of {@link #ACCEPTED}, each a property of a private CA or of a non-web API and listed
 * with its reason in docs/gateway.md "TLS scan". The run is bounded (a chosen set of checks, timeouts on
 * every connection, and a limit on the whole scan). A missing testssl.sh fails the test: CI
 * installs it ({@code .ci/run}, Debian package {@code testssl.sh}).
 */
class TlsScanIT {

    private static final Path TESTSSL = Path.of("/usr/bin/testssl");
    private static final Duration SCAN_LIMIT = Duration.ofMinutes(8);
    private static final List<String> ABOVE_LOW = List.of("MEDIUM", "HIGH", "CRITICAL");

    /**
     * Findings above LOW that are what a private CA on a non-web API looks like, by testssl id
     * (docs/gateway.md "TLS scan" says why each is accepted).
     */
    static final Map<String, String> ACCEPTED = Map.of(
            "cert_chain_of_trust", "the chain ends at the installation's own CA, in no public trust store",
            "cert_revocation", "the gateway's own certificate carries neither CRL nor OCSP URL: the private CA"
                    + " issues it to one server and revokes it by replacing it",
            "OCSP_stapling", "no stapling: nothing but the agent and postern connect, and both pin the private CA",
            "certificate_transparency", "a private CA logs to no public CT log",
            "HSTS", "not a web site: the tunnel and admin API are spoken by the agent and by postern, not by browsers");

    private static TestPki pki;
    private static GatewayServer gateway;
    private static GatewaySettings settings;

    @BeforeAll
    static void start() throws Exception {
        assertThat(TESTSSL).as("this test drives testssl.sh; install the Debian package testssl.sh (.ci/run does)")
                .isExecutable();
        pki = TestPki.create();
        GatewaySettings d = GatewaySettings.defaults();
        settings = new GatewaySettings("gw-tlsscan", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", GatewayServerIT.freePort()),
                        new HostPort("127.0.0.1", GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", GatewayServerIT.freePort())),
                d.tls(), PosturePolicy.defaults(), new AccessRules(List.of()), d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    /**
     * The tunnel listener of a second gateway with {@code tls.allowTls12: true}: TLS 1.2 must then
     * come with ECDHE and AEAD suites only (docs/gateway.md). Its own trail and listeners; the same PKI.
     */
    private static GatewaySettings tls12Settings() throws java.io.IOException {
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings tls12 = new GatewaySettings("gw-tlsscan-12", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", GatewayServerIT.freePort()),
                        new HostPort("127.0.0.1", GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", GatewayServerIT.freePort())),
                new GatewaySettings.Tls(d.tls().certificate(), d.tls().key(), d.tls().provider(), true),
                PosturePolicy.defaults(), new AccessRules(List.of()), d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail-tls12"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        return tls12;
    }

    @ParameterizedTest(name = "{0} listener")
    @ValueSource(strings = {"tunnel", "admin", "pki", "tunnel-tls12"})
    void listener_hasNoFindingAboveLow_butThoseOfAPrivateCa(String listener) throws Exception {
        if (listener.equals("tunnel-tls12")) {
            GatewaySettings tls12 = tls12Settings();
            try (GatewayServer second = GatewayServer.start(tls12, new KeyProtection.Passphrase(TestPki.PASSPHRASE))) {
                scan(listener, tls12.listeners().tunnel(), true);
            }
            return;
        }
        HostPort at = switch (listener) {
            case "tunnel" -> settings.listeners().tunnel();
            case "admin" -> settings.listeners().admin();
            default -> {
                // postern pki serve's listener: TestPki builds its TLS context as ServeCommand does
                java.net.InetSocketAddress a = pki.startServer().address();
                yield new HostPort(a.getHostString(), a.getPort());
            }
        };
        scan(listener, at, false);
    }

    private void scan(String listener, HostPort at, boolean tls12) throws Exception {
        Path work = pki.workDir("tlsscan-" + listener);
        Path json = work.resolve("testssl.json");
        Path log = work.resolve("testssl.log");
        Process p = new ProcessBuilder(TESTSSL.toString(),
                "--jsonfile", json.toString(), "--warnings", "off", "--quiet", "--color", "0",
                "--openssl-timeout", "10", "--connect-timeout", "10", "--fast", "--sneaky",
                // protocols, cipher categories, each cipher per protocol, forward secrecy and the server's picks,
                // certificate and defaults, and the vulnerabilities that apply to a TLS server (not -U: its HTTP and
                // ticketbleed checks are slow and meaningless on a non-web, TLS 1.3 API)
                "--protocols", "--std", "--cipher-per-proto", "--fs", "--server-preference", "--server-defaults",
                "--heartbleed", "--ccs-injection", "--renegotiation", "--crime", "--poodle", "--tls-fallback", "--sweet32",
                "--freak", "--logjam", "--drown", "--beast", "--lucky13", "--rc4", "--robot",
                at.host() + ":" + at.port())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(SCAN_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("testssl.sh did not finish within " + SCAN_LIMIT + " against the " + listener
                    + " listener; its output so far: " + tail(log));
        }
        assertThat(json).as("testssl.sh wrote no JSON (exit %d): %s", p.exitValue(), tail(log)).isNotEmptyFile();
        JsonNode findings = new ObjectMapper().readTree(json.toFile());
        Path keep = Files.createDirectories(Path.of("target", "tlsscan"));
        Files.copy(json, keep.resolve(listener + ".json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThat(findings.isArray() && findings.size() > 10)
                .as("expected testssl.sh's findings as a JSON array, found %s", findings).isTrue();

        List<String> scanProblems = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (JsonNode f : findings) {
            String id = f.path("id").asText();
            String severity = f.path("severity").asText();
            String line = id + " [" + severity + "] " + f.path("finding").asText();
            ids.add(id);
            if (severity.equals("FATAL") || id.equals("scanProblem")) {
                scanProblems.add(line);
            } else if (ABOVE_LOW.contains(severity) && !ACCEPTED.containsKey(id)) {
                refused.add(line);
            }
        }
        assertThat(scanProblems).as("testssl.sh could not scan the %s listener; log: %s", listener, tail(log)).isEmpty();
        assertThat(ids).as("the scan covered protocols, ciphers and vulnerabilities")
                .contains("TLS1_3", "TLS1", "SSLv3", "heartbleed", "ROBOT");
        // what the settings promise: TLS 1.3 (and 1.2 only with tls.allowTls12), no weak cipher category at all,
        // forward secrecy always, and under TLS 1.2 ECDHE with AEAD suites only
        Map<String, String> found = new java.util.HashMap<>();
        findings.forEach(f -> found.putIfAbsent(f.path("id").asText(), f.path("finding").asText()));
        List<String> absent = new ArrayList<>(List.of("SSLv2", "SSLv3", "TLS1", "TLS1_1", "cipherlist_NULL", "cipherlist_aNULL",
                "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"));
        List<String> offered = new ArrayList<>(List.of("TLS1_3", "cipherlist_STRONG"));
        (tls12 ? offered : absent).add("TLS1_2");
        for (String id : absent) {
            assertThat(found.get(id)).as("testssl %s on the %s listener", id, listener).startsWith("not offered");
        }
        for (String id : offered) {
            assertThat(found.get(id)).as("testssl %s on the %s listener", id, listener).startsWith("offered");
        }
        // testssl 3.0 says PFS, 3.1 FS
        assertThat(found.getOrDefault("FS", found.get("PFS"))).as("forward secrecy on the %s listener", listener)
                .startsWith("offered");
        List<String> tls12Suites = new ArrayList<>();
        findings.forEach(f -> {
            if (f.path("id").asText().startsWith("cipher-tls1_2_")) {
                tls12Suites.add(f.path("finding").asText());
            }
        });
        if (tls12) {
            assertThat(tls12Suites).as("TLS 1.2 suites on the %s listener", listener).isNotEmpty()
                    .allSatisfy(c -> assertThat(c).contains("ECDHE-").containsAnyOf("GCM", "CHACHA20"));
        } else {
            assertThat(tls12Suites).as("TLS 1.2 suites on the %s listener", listener).isEmpty();
        }
        assertThat(refused).as("findings above LOW on the %s listener (accepted ones: docs/gateway.md \"TLS scan\")", listener)
                .isEmpty();
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (Exception e) {
            return "(no log: " + e + ")";
        }
    }
}
