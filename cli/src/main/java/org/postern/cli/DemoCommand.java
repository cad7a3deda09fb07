package org.postern.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.postern.agent.cli.AgentCommand;
import org.postern.agent.collect.Collectors;
import org.postern.agent.enroll.EstClient;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.state.AgentHome;
import org.postern.cli.pki.PkiContext;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.config.posture.VersionNumber;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;
import org.postern.audit.trail.SharedAuditTrail;
import org.postern.gateway.server.GatewayServer;
import org.postern.gateway.session.SessionInfo;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.EvidenceException;
import org.postern.protocol.posture.PostureClaims;
import org.postern.protocol.posture.PostureEvaluator;
import org.postern.protocol.posture.PostureVerdict;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code postern demo}: the whole product on loopback with a fresh CA, one printed step at a time,
 * each checked: a step that does not behave as shown ends the demo with exit 5. The gateway, the
 * agent's session and its local listeners run in this process; the admin host is a JDK HTTP
 * server and, when installed, a real sshd.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run Postern on loopback with a fresh CA and show each step, every one checked:",
                "start a gateway (free ports) with an access rule to a demo admin host (an HTTP service, and sshd when",
                "installed), enroll this machine over EST, show the gateway's posture decision under a strict policy",
                "(denied, with reasons and remediations) and under the demo policy, run the agent (SOCKS5 and a forward)",
                "and fetch the admin host's page through the tunnel (HTTP/2 CONNECT over one mTLS connection), ssh through",
                "the agent's ProxyCommand, list the live session, revoke the device and show the tunnel close within 2 s,",
                "a new handshake refused, OCSP and the CRL saying revoked, and the signed audit trail verified.",
                "Without --exit the gateway keeps running (with a second, enrolled laptop) until Ctrl-C, and the demo",
                "prints commands to try: curl through the proxy or the agent's SOCKS5, postern gateway sessions, ssh.",
                "Exit 0: every step behaved as shown. 5: a step did not."})
public final class DemoCommand implements Callable<Integer> {
    static final int DEMO_FAILED = 5;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DEVICE = "laptop-0042";
    private static final String SECOND = "laptop-0043";

    @Option(names = "--exit", description = "Exit when the steps are done instead of serving until Ctrl-C.")
    boolean exit;

    @Option(names = "--keep", description = "Keep the temporary data directory afterwards.")
    boolean keep;

    @Spec
    CommandSpec spec;

    private PrintWriter out;
    private int step;
    private final List<AutoCloseable> running = new ArrayList<>(); // closed in reverse order
    private GatewayServer gateway;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("postern-demo-");
        Clock clock = Clock.systemUTC();
        SecureRandom random = new SecureRandom();
        byte[] pass = new byte[18];
        random.nextBytes(pass);
        String passphrase = Base64.getEncoder().encodeToString(pass);
        KeyProtection protection = new KeyProtection.Passphrase(Secret.of(passphrase));
        Path passFile = Files.writeString(dir.resolve("ca-passphrase"), passphrase + "\n");
        Files.setPosixFilePermissions(passFile, PosixFilePermissions.fromString("rw-------"));
        boolean serving = false;
        try {
            out.println("Postern demo — data directory " + dir + " (temporary), everything on 127.0.0.1, free ports");
            out.println();

            // this machine's posture facts take a while to collect (package manager queries): start now
            Path factsDir = Files.createDirectories(dir.resolve("facts"));
            java.util.concurrent.CompletableFuture<PostureClaims.Facts> collecting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return Collectors.forThisMachine(Collectors.Backend.NATIVE, factsDir).collect();
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });

            begin("Create the device CA (root + issuing CA, ECDSA P-256, keys encrypted with a generated passphrase)");
            CaStore store = new CaStore(dir);
            PkiSettings pki = PkiSettings.defaults();
            CertificateAuthority ca = store.init("Postern Demo", protection, clock.instant(), random,
                    pki.certificates().ocspResponderLifetime());
            show("root     " + ca.root().getSubjectX500Principal().getName());
            show("issuing  " + ca.issuing().certificate().getSubjectX500Principal().getName());
            show("root SHA-256 " + ca.rootSha256());
            check(Files.readString(store.dir().resolve("issuing.key")).contains("ENCRYPTED PRIVATE KEY"), "issuing key stored encrypted (PKCS#8)");

            SqliteRegistry registry = SqliteRegistry.open(dir, clock);
            running.add(registry);
            SharedAuditTrail pkiAudit = PkiContext.auditTrail(dir, random);
            running.add(pkiAudit);
            CrlPublisher crl = new CrlPublisher(ca, registry, store.crlFile(), pki.revocation().crlValidity(), clock);
            PkiService service = new PkiService(() -> ca, registry, pkiAudit, pki, clock, random, () -> crl);

            begin("Register " + DEVICE + " for alice (groups: admins) and print its one-time enrollment token");
            PkiService.NewDevice device = service.addDevice(DEVICE, "alice", List.of("admins"), "PF3XK9ZQ", null, "demo");
            show("token " + device.token().reveal().substring(0, 6) + "… (256 random bits; stored only as its SHA-256), expires " + device.expiresAt());
            check(registry.device(DEVICE).orElseThrow().status().wireName().equals("pending"), "device is pending");

            begin("Start the demo admin host on loopback: an HTTP service, and sshd when installed");
            DemoAdminHost host = DemoAdminHost.startWeb();
            running.add(host);
            show("HTTP  http://127.0.0.1:" + host.webPort() + "/");
            String noSsh = host.startSshd(dir.resolve("sshd"));
            show(noSsh == null ? "sshd  127.0.0.1:" + host.sshPort() + " (a throw-away host key; a client key for this user)"
                    : "sshd  not started — the ssh steps are skipped: " + noSsh);
            check(get(new Socket(), new InetSocketAddress("127.0.0.1", host.webPort()), host.webPort()).equals(DemoAdminHost.PAGE),
                    "the HTTP service answers directly on loopback");

            int tunnelPort = DemoAdminHost.freePort();
            URI base = URI.create("https://127.0.0.1:" + tunnelPort);
            AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("admins-to-demo-host", List.of("admins"),
                    noSsh == null ? List.of(Destination.parse("127.0.0.1/32:" + host.webPort()), Destination.parse("127.0.0.1/32:" + host.sshPort()))
                            : List.of(Destination.parse("127.0.0.1/32:" + host.webPort())))));
            begin("Start the gateway with a strict posture policy (enforce; an OS release no machine has yet)");
            gateway = startGateway(dir, tunnelPort, strictPolicy(), rules, protection);
            show("tunnel " + base + " (TLS 1.3 mTLS, HTTP/2 CONNECT; EST, OCSP and CRL for enrollment)");
            show("admin  https://127.0.0.1:" + gateway.adminAddress().getPort() + ", ssh bastion 127.0.0.1:" + gateway.bastion().address().getPort());
            show("access rule admins-to-demo-host: group admins → " + rules.rules().getFirst().to());
            check(gateway.address().getPort() == tunnelPort, "gateway listening on " + base);

            begin("This machine enrolls over EST at the gateway: a fresh P-256 key, the token, the pinned root fingerprint");
            AgentHome home = new AgentHome(dir.resolve("agent"));
            Enroller.Enrolled enrolled = new Enroller(home, clock, random).enroll(base, DEVICE, device.token(), ca.rootSha256());
            X509Certificate cert = enrolled.certificate();
            show("subject  " + cert.getSubjectX500Principal().getName());
            show("serial   " + cert.getSerialNumber().toString(16) + ", valid " + cert.getNotBefore().toInstant() + " → " + cert.getNotAfter().toInstant());
            show("key      " + home.keyFile() + " (never left this machine)");
            cert.verify(ca.issuing().certificate().getPublicKey());
            check(cert.getPublicKey().equals(home.keys().getPublic())
                            && registry.device(DEVICE).orElseThrow().status().wireName().equals("active"),
                    "certificate signed by the issuing CA for the laptop's own key; device now active");
            SSLContext pinned = EstClient.pinned(ca.rootSha256());
            try {
                new EstClient(base.resolve("/.well-known/est/"), pinned)
                        .simpleEnroll(DEVICE, device.token(), EstClient.csr(org.postern.keys.KeyFiles.generateP256(random), DEVICE));
                check(false, "the same token again is refused (one-time)");
            } catch (EstClient.EstException e) {
                show("token again: " + e.getMessage());
                check(e.status() == 401 && e.reason().equals("est.token_used"), "the same token again is refused: HTTP 401, est.token_used");
            }

            HttpClient http = HttpClient.newBuilder().sslContext(pinned).version(HttpClient.Version.HTTP_1_1).build();
            begin("OCSP (POST /pki/ocsp at the gateway) asks about the new certificate");
            String status = ocsp(http, base, ca, cert);
            show("OCSP status: " + status);
            check(status.equals("good"), "OCSP says good");

            begin("Posture evidence is signed with the device key (ES256 JWS): tampered or replayed evidence is refused");
            KeyPair keys = home.keys();
            PostureClaims.Facts facts = collecting.join();
            String nonce = HexFormat.of().formatHex(random.generateSeed(16));
            String jws = Evidence.sign(PostureClaims.of(nonce, DEVICE, clock.instant(), new AgentInfo(AgentCommand.NAME, AgentCommand.VERSION), facts),
                    keys.getPrivate(), cert);
            String[] parts = jws.split("\\.");
            String forged = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
                    new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
                            .replace("\"" + DEVICE + "\"", "\"laptop-0099\"").getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
            String genuine = refusal(() -> Evidence.verify(jws, cert, nonce, clock.instant(), Duration.ofSeconds(60)));
            String forgedReason = refusal(() -> Evidence.verify(forged, cert, nonce, clock.instant(), Duration.ofSeconds(60)));
            String replayReason = refusal(() -> Evidence.verify(jws, cert, "another-challenge", clock.instant(), Duration.ofSeconds(60)));
            show("genuine: " + genuine + "; edited claims: " + forgedReason + "; old nonce: " + replayReason);
            check(genuine.equals("accepted") && forgedReason.equals("evidence.bad_signature") && replayReason.equals("evidence.nonce_unknown"),
                    "genuine evidence accepted, edited claims evidence.bad_signature, a replayed nonce evidence.nonce_unknown");

            begin("The agent connects (postern-agent up: SOCKS5 and a forward): the gateway judges its posture under the strict policy");
            DemoLaptop laptop = DemoLaptop.up(home, base, host.webPort(), line -> { });
            running.add(laptop);
            String denied = laptop.await(0, l -> l.startsWith("posture denied by the gateway") || l.startsWith("posture accepted")
                    || l.startsWith("posture NOT compliant"), Duration.ofSeconds(30));
            String retry = laptop.await(0, l -> l.startsWith("trying again in"), Duration.ofSeconds(5));
            showAgent(laptop, 0, retry == null ? laptop.mark() : laptop.linesFrom(0).indexOf(retry) + 1);
            check(denied != null && denied.startsWith("posture denied by the gateway (policy demo-strict)")
                            && laptop.linesFrom(0).stream().anyMatch(l -> l.startsWith("    → ")),
                    "denied under enforce, each reason with what to do about it");
            String refusedSocks = tryGet(laptop.socks(), host.webPort());
            show("through SOCKS5 now: " + refusedSocks);
            check(!refusedSocks.equals(DemoAdminHost.PAGE), "no tunnel without an accepted posture");

            PostureVerdict local = new PostureEvaluator().evaluate(PostureClaims.of("local-check", DEVICE, clock.instant(),
                    new AgentInfo(AgentCommand.NAME, AgentCommand.VERSION), facts), PosturePolicy.defaults(), cert.getNotAfter().toInstant(), clock.instant());
            PosturePolicy.Mode mode = local.compliant() ? PosturePolicy.Mode.ENFORCE : PosturePolicy.Mode.REPORT_ONLY;
            begin("The gateway restarts with the demo policy (the default checks, " + mode.spelling() + "): the agent reconnects by itself");
            show(local.compliant() ? "this machine meets the default policy, so the demo policy enforces it"
                    : "this machine does not meet the default policy (" + String.join(", ", local.reasons().stream().map(r -> r.code()).distinct().toList())
                    + "), so the demo policy runs report-only: the gateway records what it would deny and lets it in");
            int mark = laptop.mark();
            gateway.close();
            gateway = startGateway(dir, tunnelPort, demoPolicy(mode), rules, protection);
            String accepted = laptop.await(mark, l -> l.startsWith("posture accepted") || l.startsWith("posture NOT compliant")
                    || l.startsWith("posture denied"), Duration.ofSeconds(30));
            showAgent(laptop, mark, laptop.mark());
            check(accepted != null && (local.compliant() ? accepted.startsWith("posture accepted; lease until")
                            : accepted.startsWith("posture NOT compliant, allowed (report-only)")),
                    local.compliant() ? "compliant: posture accepted with a lease" : "not compliant, allowed in report-only mode (said so)");

            begin("Fetch the admin host's page through the tunnel: SOCKS5, then the forward (HTTP/2 CONNECT streams of the one mTLS connection)");
            Socket held = new Socket(new Proxy(Proxy.Type.SOCKS, laptop.socks()));
            running.add(held);
            String viaSocks = get(held, InetSocketAddress.createUnresolved("127.0.0.1", host.webPort()), host.webPort());
            show("SOCKS5 127.0.0.1:" + laptop.socksPort() + " → 127.0.0.1:" + host.webPort() + ": " + viaSocks.strip());
            String viaForward = get(new Socket(), new InetSocketAddress("127.0.0.1", laptop.forwardPort()), host.webPort());
            show("forward 127.0.0.1:" + laptop.forwardPort() + " → 127.0.0.1:" + host.webPort() + ": " + viaForward.strip());
            check(viaSocks.equals(DemoAdminHost.PAGE) && viaForward.equals(DemoAdminHost.PAGE), "the page arrives through both paths");

            Path wrapper = null;
            if (noSsh == null) {
                begin("ssh to the admin host's sshd with the ProxyCommand from postern-agent ssh-config");
                wrapper = agentWrapper(dir);
                String sshConfig = agent("--home", home.dir().toString(), "ssh-config", "--host", "127.0.0.1", "--command", wrapper.toString());
                sshConfig.lines().filter(l -> !l.isBlank()).forEach(this::show);
                // the demo's own options first (ssh takes the first value it finds for each), then the
                // printed blocks as a user would paste them
                Path sshConfigFile = Files.writeString(dir.resolve("ssh_config"), "Host 127.0.0.1\n"
                        + "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    BatchMode yes\n    LogLevel ERROR\n"
                        + "    IdentityFile " + host.clientKey() + "\n    IdentitiesOnly yes\n\n" + sshConfig);
                String user = System.getProperty("user.name");
                Run ssh = run(dir, Duration.ofSeconds(60), DemoAdminHost.SSH.toString(), "-F", sshConfigFile.toString(),
                        "-p", String.valueOf(host.sshPort()), user + "@127.0.0.1", "echo hello from $(hostname) as $(id -un) over ssh");
                show("$ ssh -F ssh_config -p " + host.sshPort() + " " + user + "@127.0.0.1 'echo hello from $(hostname) as $(id -un) over ssh'");
                ssh.out().lines().forEach(l -> show("  " + l));
                check(ssh.code() == 0 && ssh.out().startsWith("hello from ") && ssh.out().contains(" as " + user + " over ssh"),
                        "ssh ran the command through the tunnel (exit " + ssh.code() + ")");
            } else {
                out.println("    (ssh step skipped: " + noSsh + ")");
            }

            begin("The live session, as the admin API lists it (GET /v1/sessions; postern gateway sessions)");
            List<SessionInfo> sessions = gateway.sessions().sessions();
            sessions.forEach(s -> show(s.id() + "  " + s.device() + "  " + s.user() + "  " + s.source() + "  via " + s.via()
                    + "  since " + s.since() + "  flows " + s.flows() + "  bytes " + s.bytesUp() + "/" + s.bytesDown()
                    + (s.leaseUntil() == null ? "" : "  lease until " + s.leaseUntil())));
            check(sessions.stream().anyMatch(s -> s.device().equals(DEVICE) && s.flows() >= 1),
                    DEVICE + " has a session with an open tunnel (the SOCKS5 connection kept alive)");

            begin("IT security revokes the laptop (postern pki device revoke " + DEVICE + " --reason lost): the open tunnel closes");
            long t0 = System.nanoTime();
            String said = postern("pki", "device", "revoke", DEVICE, "--reason", "lost", "--dir", dir.toString(),
                    "--passphrase-file", passFile.toString());
            show(said.strip());
            held.setSoTimeout(5_000);
            String end = endOf(held);
            long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
            show("the tunnel through SOCKS5: " + end + " " + ms + " ms after the revocation");
            check(!end.startsWith("still open") && ms < 2_000, "the open tunnel closed within 2 s");
            JsonNode sessionEnd = awaitRecord(dir.resolve("audit/trail"), "session.end", DEVICE, Duration.ofSeconds(5));
            show("audit: " + (sessionEnd == null ? "no session.end" : abbreviate(sessionEnd.toString())));
            check(sessionEnd != null && sessionEnd.path("reason").asText().equals("revoked"), "session.end with reason revoked in the audit trail");

            begin("A new handshake with the revoked certificate is refused");
            String handshake = handshake(base, ca, home);
            show(handshake);
            check(handshake.startsWith("refused"), "the gateway refuses the revoked device at the TLS handshake");

            begin("OCSP and the CRL (GET /pki/crl) now say revoked");
            status = ocsp(http, base, ca, cert);
            show("OCSP status: " + status);
            HttpResponse<byte[]> crlRes = http.send(HttpRequest.newBuilder(base.resolve("/pki/crl")).build(), HttpResponse.BodyHandlers.ofByteArray());
            X509CRLHolder crlHolder = new X509CRLHolder(crlRes.body());
            show("CRL: " + crlHolder.getRevokedCertificates().size() + " entry, next update " + crlHolder.getNextUpdate().toInstant());
            check(status.startsWith("revoked") && crlHolder.getRevokedCertificate(cert.getSerialNumber()) != null
                            && crlHolder.isSignatureValid(new JcaContentVerifierProviderBuilder().build(ca.issuing().certificate())),
                    "OCSP says revoked; the CRL, signed by the issuing CA, lists the serial");

            begin("Both audit trails verify (postern audit verify): the gateway's, and the PKI's strictly (every record sealed)");
            java.security.PublicKey auditKey = AuditKeys.readPublicKey(dir.resolve("audit.pub"));
            AuditVerifier.Result gatewayTrail = AuditVerifier.verify(dir.resolve("audit/trail"), auditKey, false);
            AuditVerifier.Result pkiTrail = AuditVerifier.verify(dir.resolve(PkiContext.AUDIT_DIR), auditKey, true);
            List<String> types = types(dir.resolve("audit/trail"));
            List<String> pkiTypes = types(dir.resolve(PkiContext.AUDIT_DIR));
            show("gateway " + dir.resolve("audit/trail") + ": " + (gatewayTrail.ok() ? "ok, " + gatewayTrail.records() + " records, "
                    + gatewayTrail.checkpoints() + " checkpoints" : gatewayTrail.problem()));
            show("  events: " + String.join(", ", types.stream().filter(t -> !t.equals("audit.checkpoint")).distinct().toList()));
            show("PKI     " + dir.resolve(PkiContext.AUDIT_DIR) + ": " + (pkiTrail.ok() ? "ok, " + pkiTrail.records() + " records, "
                    + pkiTrail.checkpoints() + " checkpoints" : pkiTrail.problem()));
            show("  events: " + String.join(", ", pkiTypes.stream().filter(t -> !t.equals("audit.checkpoint")).distinct().toList()));
            check(gatewayTrail.ok() && types.containsAll(List.of("pki.enroll", "pki.enroll.denied", "session.start", "posture.decision", "session.end"))
                            && pkiTrail.ok() && pkiTrail.unsealed() == 0 && pkiTypes.containsAll(List.of("pki.token.create", "pki.revoke"))
                            && Stream.concat(records(dir.resolve("audit/trail")).stream(), records(dir.resolve(PkiContext.AUDIT_DIR)).stream())
                                    .noneMatch(n -> n.toString().contains(device.token().reveal())),
                    "both trails verify; enrollment, sessions, posture decisions and the revocation are recorded; the token itself never appears");

            if (!exit) {
                begin("A second laptop (" + SECOND + ", alice) enrolls and connects, so there is something to try");
                AgentHome home2 = new AgentHome(dir.resolve("agent-2"));
                PkiService.NewDevice second = service.addDevice(SECOND, "alice", List.of("admins"), null, null, "demo");
                new Enroller(home2, clock, random).enroll(base, SECOND, second.token(), ca.rootSha256());
                DemoLaptop laptop2 = DemoLaptop.up(home2, base, host.webPort(), line -> { });
                running.add(laptop2);
                String allowed = laptop2.await(0, l -> l.startsWith("posture accepted") || l.startsWith("posture NOT compliant, allowed"),
                        Duration.ofSeconds(30));
                showAgent(laptop2, 0, laptop2.mark());
                String page = get(new Socket(new Proxy(Proxy.Type.SOCKS, laptop2.socks())),
                        InetSocketAddress.createUnresolved("127.0.0.1", host.webPort()), host.webPort());
                check(allowed != null && page.equals(DemoAdminHost.PAGE), SECOND + " is in; its SOCKS5 reaches the admin host");
                Path gatewayYaml = gatewayYaml(dir, tunnelPort);
                // an auditor's certificate in DATA/admin, for postern gateway sessions
                postern("pki", "issue-admin", "--dir", dir.toString(), "--name", "demo-auditor", "--role", "auditor",
                        "--passphrase-file", passFile.toString());
                out.println();
                out.println("All " + step + " steps behaved as shown.");
                out.println();
                out.println("The gateway keeps running on " + base + " — try, in another terminal:");
                out.println("  curl --socks5-hostname 127.0.0.1:" + laptop2.socksPort() + " http://127.0.0.1:" + host.webPort() + "/");
                out.println("  curl http://127.0.0.1:" + laptop2.forwardPort() + "/          # the agent's forward");
                out.println("  curl --proxytunnel --proxy " + base + " --proxy-cacert " + home2.caFile() + " --proxy-cert " + home2.certificateFile()
                        + " --proxy-key " + home2.keyFile() + " http://127.0.0.1:" + host.webPort() + "/");
                out.println("  ./postern gateway sessions --config " + gatewayYaml);
                if (noSsh == null) {
                    Path cfg = Files.writeString(dir.resolve("ssh_config-2"), "Host 127.0.0.1\n"
                            + "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n"
                            + "    IdentityFile " + host.clientKey() + "\n    IdentitiesOnly yes\n\n"
                            + agent("--home", home2.dir().toString(), "ssh-config", "--host", "127.0.0.1", "--command", wrapper.toString()));
                    out.println("  ssh -F " + cfg + " -p " + host.sshPort() + " " + System.getProperty("user.name") + "@127.0.0.1");
                }
                out.println("  ./postern audit verify " + dir.resolve("audit/trail"));
                out.println("Stop with Ctrl-C.");
                out.flush();
                serving = true;
                // Ctrl-C ends the JVM without running this method's finally blocks: clean up there
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    stopAll();
                    if (!keep) {
                        deleteTree(dir);
                    }
                }, "demo-shutdown"));
                Thread.currentThread().join();
            }
            out.println();
            out.println("All " + step + " steps behaved as shown.");
            return 0;
        } catch (DemoFailed e) {
            out.println();
            out.println("DEMO FAILED at step " + step + ": " + e.getMessage());
            return DEMO_FAILED;
        } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
            // a step that broke instead of answering (a refused connection, a timeout): it did not behave as shown either
            out.println();
            out.println("DEMO FAILED at step " + step + ": " + e);
            return DEMO_FAILED;
        } finally {
            out.flush();
            if (!serving) {
                stopAll();
                if (!keep) {
                    deleteTree(dir);
                } else {
                    out.println("Data kept in " + dir);
                }
            }
        }
    }

    private synchronized void stopAll() {
        for (int i = running.size() - 1; i >= 0; i--) {
            AutoCloseable c = running.get(i);
            if (c instanceof SqliteRegistry && gateway != null) {
                gateway.close(); // before the registry it shares the database with
                gateway = null;
            }
            try {
                c.close();
            } catch (Exception e) {
                // best effort: the demo is ending
            }
        }
        running.clear();
        if (gateway != null) {
            gateway.close();
            gateway = null;
        }
    }

    private static GatewayServer startGateway(Path dir, int tunnelPort, PosturePolicy policy, AccessRules rules, KeyProtection protection)
            throws IOException, InterruptedException {
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings settings = new GatewaySettings("demo-gateway", dir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", tunnelPort), new HostPort("127.0.0.1", DemoAdminHost.freePort()), false,
                        new HostPort("127.0.0.1", DemoAdminHost.freePort())),
                d.tls(), policy, rules, d.limits(),
                new GatewaySettings.Audit(dir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1), Duration.ofSeconds(60)));
        return GatewayServer.start(settings, protection);
    }

    /** Enforce, and a minimum OS release no machine has: denied on any machine, with reasons. */
    private static PosturePolicy strictPolicy() {
        PosturePolicy p = PosturePolicy.defaults();
        VersionNumber v99 = VersionNumber.parse("99");
        Map<String, VersionNumber> distributions = new java.util.LinkedHashMap<>();
        PosturePolicy.Linux.KNOWN_DISTRIBUTIONS.forEach(name -> distributions.put(name, v99));
        PosturePolicy.MinOs minOs = new PosturePolicy.MinOs(v99, v99, new PosturePolicy.Linux(PosturePolicy.Linux.DEFAULT_KERNEL, distributions));
        return new PosturePolicy("demo-strict", PosturePolicy.Mode.ENFORCE, p.lease(), true, minOs, p.maxDaysSinceUpdate(),
                p.maxSecurityPendingDays(), p.denyRebootRequired(), p.minAgentVersion(), p.minCertValidityDays(), p.evidenceSkew(),
                p.unsafeAllowUnknownPendingAge());
    }

    /** The default checks under the name "demo", enforced or report-only. */
    private static PosturePolicy demoPolicy(PosturePolicy.Mode mode) {
        PosturePolicy p = PosturePolicy.defaults();
        return new PosturePolicy("demo", mode, p.lease(), p.requireDiskEncryption(), p.minOs(), p.maxDaysSinceUpdate(),
                p.maxSecurityPendingDays(), p.denyRebootRequired(), p.minAgentVersion(), p.minCertValidityDays(), p.evidenceSkew(),
                p.unsafeAllowUnknownPendingAge());
    }

    /** A gateway.yaml naming the running gateway's admin listener, for {@code postern gateway sessions --config}. */
    private Path gatewayYaml(Path dir, int tunnelPort) throws IOException {
        return Files.writeString(dir.resolve("gateway.yaml"), """
                gateway:
                  id: demo-gateway
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                """.formatted(dir, tunnelPort, gateway.adminAddress().getPort(), gateway.bastion().address().getPort()));
    }

    private void showAgent(DemoLaptop laptop, int from, int to) {
        List<String> lines = laptop.linesFrom(from);
        lines.subList(0, Math.max(0, Math.min(to - from, lines.size()))).forEach(l -> show("agent: " + l));
    }

    /** GET / over {@code socket} connected to {@code to}, HTTP/1.1 keep-alive: the body, the socket left open. */
    private static String get(Socket socket, InetSocketAddress to, int hostPort) throws IOException {
        socket.connect(to, 10_000);
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: 127.0.0.1:" + hostPort + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the connection closed before the response ended: " + head.toString(StandardCharsets.US_ASCII));
            }
            head.write(b);
        }
        String h = head.toString(StandardCharsets.US_ASCII);
        int length = h.lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
                .map(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).strip())).findFirst()
                .orElseThrow(() -> new IOException("expected a Content-Length, found: " + h.strip()));
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    /** The page through SOCKS5, or what went wrong (a refusal). */
    private static String tryGet(InetSocketAddress socks, int webPort) {
        try (Socket s = new Socket(new Proxy(Proxy.Type.SOCKS, socks))) {
            return get(s, InetSocketAddress.createUnresolved("127.0.0.1", webPort), webPort);
        } catch (IOException e) {
            return "refused (" + e.getMessage() + ")";
        }
    }

    /** How an idle open connection ended: read until EOF, a reset or the timeout. */
    private static String endOf(Socket socket) {
        try {
            int b = socket.getInputStream().read();
            return b < 0 ? "closed" : "still open (read a byte)";
        } catch (java.net.SocketTimeoutException e) {
            return "still open after " + 5 + " s";
        } catch (IOException e) {
            return "reset (" + e.getMessage() + ")";
        }
    }

    /** A fresh TLS 1.3 connection with the device's key and certificate, trusting the device CA root. */
    private static String handshake(URI base, CertificateAuthority ca, AgentHome home) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        char[] none = new char[] {'x'};
        // the JDK's own EC key: the JDK key manager matches key types by name, and a key read with
        // BouncyCastle registered (MINA SSHD registers it) is called "ECDSA"
        java.security.PrivateKey key = java.security.KeyFactory.getInstance("EC")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(home.keys().getPrivate().getEncoded()));
        keys.setKeyEntry("device", key, none, new Certificate[] {home.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, none);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", ca.root());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(base.getHost(), base.getPort())) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            // TLS 1.3: the server judges the client certificate after the client's Finished; its alert comes on the first read
            s.getOutputStream().write(("GET /pki/crl HTTP/1.1\r\nHost: " + base.getAuthority() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            int b = s.getInputStream().read();
            return b < 0 ? "refused: the gateway closed the connection" : "accepted: the gateway answered";
        } catch (IOException e) {
            return "refused: " + e.getMessage();
        }
    }

    private static JsonNode awaitRecord(Path trail, String type, String device, Duration within) throws IOException, InterruptedException {
        long until = System.nanoTime() + within.toNanos();
        while (true) {
            for (JsonNode n : records(trail)) {
                if (n.path("type").asText().equals(type) && n.path("device").asText().equals(device)
                        && n.path("reason").asText().equals("revoked")) {
                    return n;
                }
            }
            if (System.nanoTime() > until) {
                return null;
            }
            Thread.sleep(100); // polling a file another component appends to
        }
    }

    private static List<String> types(Path trail) throws IOException {
        return records(trail).stream().map(n -> n.path("type").asText()).toList();
    }

    private static List<JsonNode> records(Path trail) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(trail)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (!line.isBlank()) {
                        out.add(JSON.readTree(line));
                    }
                }
            }
        }
        return out;
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 197) + "…" : s;
    }

    /** {@code postern-agent} on this JVM and class path, as a script for ssh's ProxyCommand. */
    private static Path agentWrapper(Path dir) throws IOException {
        String jvm = ProcessHandle.current().info().command().orElse("java");
        // absolute entries: ssh runs the ProxyCommand in another directory
        String classPath = Stream.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .map(e -> Path.of(e).toAbsolutePath().toString()).collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        Path wrapper = Files.writeString(dir.resolve("postern-agent"), "#!/bin/sh\nexec '" + jvm + "' -cp '" + classPath
                + "' -Dlogback.configurationFile=postern-agent-logback.xml org.postern.agent.cli.AgentCommand \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        return wrapper;
    }

    private static String agent(String... args) {
        StringWriter o = new StringWriter();
        CommandLine cl = AgentCommand.commandLine();
        cl.setOut(new PrintWriter(o, true));
        cl.setErr(new PrintWriter(o, true));
        int code = cl.execute(args);
        if (code != 0) {
            throw new DemoFailed("postern-agent " + String.join(" ", args) + " exited " + code + ": " + o);
        }
        return o.toString();
    }

    private static String postern(String... args) {
        StringWriter o = new StringWriter();
        CommandLine cl = PosternCommand.commandLine();
        cl.setOut(new PrintWriter(o, true));
        cl.setErr(new PrintWriter(o, true));
        int code = cl.execute(args);
        if (code != 0) {
            throw new DemoFailed("postern " + String.join(" ", args) + " exited " + code + ": " + o);
        }
        return o.toString();
    }

    private record Run(int code, String out) {
    }

    private static Run run(Path dir, Duration within, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
        if (!p.waitFor(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new DemoFailed(command[0] + " did not finish within " + within.toSeconds() + " s");
        }
        return new Run(p.exitValue(), output.join());
    }

    private String ocsp(HttpClient http, URI base, CertificateAuthority ca, X509Certificate cert) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(ca.issuing().certificate()), cert.getSerialNumber());
        byte[] nonce = new byte[16];
        new SecureRandom().nextBytes(nonce);
        Extension sent = new Extension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false, new DEROctetString(nonce).getEncoded());
        byte[] req = new OCSPReqBuilder().addRequest(id).setRequestExtensions(new Extensions(sent)).build().getEncoded();
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(base.resolve("/pki/ocsp")).header("Content-Type", "application/ocsp-request")
                .POST(HttpRequest.BodyPublishers.ofByteArray(req)).build(), HttpResponse.BodyHandlers.ofByteArray());
        OCSPResp resp = new OCSPResp(r.body());
        check(resp.getStatus() == OCSPResp.SUCCESSFUL, "OCSP response successful");
        BasicOCSPResp basic = (BasicOCSPResp) resp.getResponseObject();
        check(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(basic.getCerts()[0]))
                && basic.getCerts()[0].isSignatureValid(new JcaContentVerifierProviderBuilder().build(ca.issuing().certificate())),
                "OCSP answer signed by the delegated responder the issuing CA certified");
        Extension echoed = basic.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
        check(sent.equals(echoed), "nonce echoed");
        show("responder " + basic.getCerts()[0].getSubject() + ", nonce " + HexFormat.of().formatHex(nonce, 0, 4) + "… echoed");
        var st = basic.getResponses()[0].getCertStatus();
        return st == null ? "good" : st instanceof RevokedStatus rs ? "revoked (reason " + rs.getRevocationReason() + ")" : "unknown";
    }

    @FunctionalInterface
    private interface Verification {
        void run() throws EvidenceException;
    }

    /** The reason code a verification refused with, or "accepted". */
    private static String refusal(Verification v) {
        try {
            v.run();
            return "accepted";
        } catch (EvidenceException e) {
            return e.reason().code();
        }
    }

    private void begin(String what) {
        step++;
        out.println("[" + step + "] " + what);
        out.flush();
    }

    private void show(String line) {
        out.println("      " + line);
    }

    private void check(boolean ok, String what) {
        if (!ok) {
            throw new DemoFailed("expected: " + what);
        }
        out.println("      ✓ " + what);
        out.flush();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temp directory
        }
    }

    private static final class DemoFailed extends RuntimeException {
        DemoFailed(String m) {
            super(m);
        }
    }
}
