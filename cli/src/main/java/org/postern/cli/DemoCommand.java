package org.postern.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;

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
import org.postern.config.posture.PosturePolicy;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.EvidenceException;
import org.postern.protocol.posture.PostureClaims;
import org.postern.protocol.posture.PostureEvaluator;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.ReasonDetail;
import org.postern.cli.pki.PkiContext;
import org.postern.gateway.audit.AuditKeys;
import org.postern.gateway.audit.AuditVerifier;
import org.postern.gateway.audit.SharedAuditTrail;
import org.postern.config.HostPort;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.ca.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.ocsp.OcspResponder;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.pki.server.PkiServer;
import org.postern.pki.server.ServerCredentials;
import org.postern.pki.server.ServerTls;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code postern demo}: everything that exists so far, on loopback with embedded defaults, one
 * printed step at a time, each checked: a step that does not behave as shown ends the demo with
 * exit 5.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run Postern on loopback with embedded defaults and show each step:",
                "create a CA, register a laptop, enroll it over EST with a fresh key, check it with OCSP,",
                "prove this machine's posture with signed evidence and judge it, refuse forged evidence,",
                "revoke the laptop, and show the CRL, the OCSP answer and the audit log. Every step is checked.",
                "Without --exit the PKI server keeps running afterwards so you can try it with curl/openssl."})
public final class DemoCommand implements Callable<Integer> {
    static final int DEMO_FAILED = 5;

    @Option(names = "--exit", description = "Exit when the steps are done instead of serving until Ctrl-C.")
    boolean exit;

    @Option(names = "--keep", description = "Keep the temporary data directory afterwards.")
    boolean keep;

    @Spec
    CommandSpec spec;

    private PrintWriter out;
    private int step;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("postern-demo-");
        Clock clock = Clock.systemUTC();
        SecureRandom random = new SecureRandom();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        PkiSettings d = PkiSettings.defaults();
        PkiSettings settings = new PkiSettings(d.ca(), d.certificates(), d.enrollment(), d.revocation(),
                new PkiSettings.Server(new HostPort("127.0.0.1", port), null, null));
        byte[] pass = new byte[18];
        random.nextBytes(pass);
        KeyProtection protection = new KeyProtection.Passphrase(Secret.of(Base64.getEncoder().encodeToString(pass)));
        try {
            out.println("Postern demo — data directory " + dir + " (temporary), everything on 127.0.0.1:" + port);
            out.println();

            begin("Create the device CA (root + issuing CA, ECDSA P-256, keys encrypted with a generated passphrase)");
            CaStore store = new CaStore(dir);
            CertificateAuthority ca = store.init("Postern Demo", protection, clock.instant(), random, settings.certificates().ocspResponderLifetime());
            show("root     " + ca.root().getSubjectX500Principal().getName());
            show("issuing  " + ca.issuing().certificate().getSubjectX500Principal().getName());
            show("root SHA-256 " + ca.rootSha256());
            check(Files.exists(store.dir().resolve("issuing.key")) && new String(Files.readAllBytes(store.dir().resolve("issuing.key"))).contains("ENCRYPTED PRIVATE KEY"),
                    "issuing key stored encrypted (PKCS#8)");

            try (SqliteRegistry registry = SqliteRegistry.open(dir, clock);
                 SharedAuditTrail audit = PkiContext.auditTrail(dir, random)) {
                CrlPublisher crl = new CrlPublisher(ca, registry, store.crlFile(), settings.revocation().crlValidity(), clock);
                PkiService service = new PkiService(() -> ca, registry, audit, settings, clock, random, () -> crl);

                begin("Register laptop-0042 for alice (groups: admins) and print its one-time enrollment token");
                PkiService.NewDevice device = service.addDevice("laptop-0042", "alice", List.of("admins"), "PF3XK9ZQ", null, "demo");
                String token = device.token().reveal();
                show("token " + token.substring(0, 6) + "… (43 chars, 256 random bits; stored only as its SHA-256), expires " + device.expiresAt());
                check(registry.device("laptop-0042").orElseThrow().status().wireName().equals("pending"), "device is pending");

                begin("Start the PKI server: EST, CRL and OCSP on TLS 1.3 (" + ServerTls.provider() + ")");
                ServerCredentials creds = ServerCredentials.selfIssued(service, ca, dir, "127.0.0.1", clock.instant());
                PkiServer server = PkiServer.start(settings.server().listen().socketAddress(),
                        ServerTls.context(creds.key(), creds.certificate(), ca.chain(), ServerTls.provider()),
                        service, ca, crl, new OcspResponder(ca, registry, clock));
                try {
                    URI base = URI.create("https://127.0.0.1:" + port);
                    show("listening on " + base);
                    check(true, "server started");

                    begin("The laptop fetches the CA chain over EST, trusting only the pinned root fingerprint");
                    SSLContext pinned = EstClient.pinned(ca.rootSha256());
                    EstClient est = new EstClient(base.resolve("/.well-known/est/"), pinned);
                    List<X509Certificate> cacerts = est.cacerts();
                    cacerts.forEach(c -> show(c.getSubjectX500Principal().getName()));
                    check(cacerts.contains(ca.root()), "cacerts holds the pinned root");

                    begin("The laptop makes a fresh P-256 key and enrolls over EST with the token");
                    KeyPair keys = KeyFiles.generateP256(random);
                    X509Certificate cert = est.simpleEnroll("laptop-0042", device.token(), EstClient.csr(keys, "laptop-0042"));
                    show("subject  " + cert.getSubjectX500Principal().getName());
                    show("SAN      " + cert.getSubjectAlternativeNames());
                    show("EKU      " + cert.getExtendedKeyUsage() + " (clientAuth)");
                    show("serial   " + cert.getSerialNumber().toString(16) + " (" + cert.getSerialNumber().bitLength() + " bits)");
                    show("valid    " + cert.getNotBefore().toInstant() + " → " + cert.getNotAfter().toInstant());
                    cert.verify(ca.issuing().certificate().getPublicKey());
                    check(cert.getPublicKey().equals(keys.getPublic()) && cert.getSubjectX500Principal().getName().contains("CN=laptop-0042")
                                    && registry.device("laptop-0042").orElseThrow().status().wireName().equals("active"),
                            "certificate carries the laptop's key, names it from the registry; device now active");

                    begin("The same token again is refused (one-time)");
                    try {
                        est.simpleEnroll("laptop-0042", device.token(), EstClient.csr(KeyFiles.generateP256(random), "laptop-0042"));
                        check(false, "reused token refused");
                    } catch (EstClient.EstException e) {
                        show(e.getMessage());
                        check(e.status() == 401 && e.reason().equals("est.token_used"), "HTTP 401, reason est.token_used");
                    }

                    HttpClient http = HttpClient.newBuilder().sslContext(pinned).version(HttpClient.Version.HTTP_1_1).build();
                    begin("OCSP asks about the new certificate");
                    String status = ocsp(http, base, ca, cert);
                    show("OCSP status: " + status);
                    check(status.equals("good"), "OCSP says good");

                    begin("The laptop proves its posture: this machine's real facts, signed with the device key (ES256 JWS)");
                    byte[] nonceBytes = new byte[16];
                    random.nextBytes(nonceBytes);
                    String nonce = HexFormat.of().formatHex(nonceBytes);
                    PostureClaims.Facts facts = Collectors.forThisMachine(Collectors.Backend.NATIVE, dir).collect();
                    PostureClaims claims = PostureClaims.of(nonce, "laptop-0042", clock.instant(),
                            new AgentInfo("postern-agent", AgentCommand.VERSION), facts);
                    String jws = Evidence.sign(claims, keys.getPrivate(), cert);
                    show("evidence " + jws.substring(0, 40) + "… (" + jws.length() + " bytes), kid = SHA-256 of the device certificate");
                    PostureClaims verified = Evidence.verify(jws, cert, nonce, clock.instant(), Duration.ofSeconds(60));
                    show("device " + verified.ueid() + ", " + verified.os().name() + " " + verified.os().version() + ", collector " + verified.collector());
                    check(verified.ueid().equals("laptop-0042") && verified.os().equals(claims.os()) && verified.disk().equals(claims.disk()),
                            "the gateway side verifies signature, nonce, time and profile, and reads the same facts");

                    begin("The gateway judges it with the default policy (the same evaluator the agent's check uses)");
                    PostureVerdict verdict = new PostureEvaluator().evaluate(verified, PosturePolicy.defaults(), cert.getNotAfter().toInstant(), clock.instant());
                    verdict.checks().forEach(c -> show(c.line()));
                    show(verdict.compliant() ? "compliant: lease until " + verdict.leaseUntil()
                            : "not compliant: " + verdict.reasons().stream().map(ReasonDetail::code).toList() + " (this build machine is no laptop)");
                    check(verdict.compliant() == verdict.reasons().isEmpty() && verdict.checks().size() >= 6, "every check judged, each failure with a reason");

                    begin("Tampered or replayed evidence is refused");
                    String[] parts = jws.split("\\.");
                    String forged = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
                            new String(Base64.getUrlDecoder().decode(parts[1]), java.nio.charset.StandardCharsets.UTF_8)
                                    .replace("\"laptop-0042\"", "\"laptop-0043\"").getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "." + parts[2];
                    String forgedReason = refusal(() -> Evidence.verify(forged, cert, nonce, clock.instant(), Duration.ofSeconds(60)));
                    String replayReason = refusal(() -> Evidence.verify(jws, cert, "another-challenge", clock.instant(), Duration.ofSeconds(60)));
                    show("edited claims: " + forgedReason + "; old nonce: " + replayReason);
                    check(forgedReason.equals("evidence.bad_signature") && replayReason.equals("evidence.nonce_unknown"),
                            "edited claims are evidence.bad_signature, a replayed nonce evidence.nonce_unknown");

                    begin("IT security revokes the laptop (reported lost)");
                    service.revoke("laptop-0042", RevocationReason.lost, "demo");
                    show("device status: " + registry.device("laptop-0042").orElseThrow().status().wireName());
                    check(registry.device("laptop-0042").orElseThrow().status().wireName().equals("revoked"), "device revoked");

                    begin("The CRL (GET /pki/crl) lists the serial");
                    HttpResponse<byte[]> crlRes = http.send(HttpRequest.newBuilder(base.resolve("/pki/crl")).build(), HttpResponse.BodyHandlers.ofByteArray());
                    X509CRLHolder crlHolder = new X509CRLHolder(crlRes.body());
                    show("Content-Type " + crlRes.headers().firstValue("Content-Type").orElse("?") + ", " + crlHolder.getRevokedCertificates().size()
                            + " entry, next update " + crlHolder.getNextUpdate().toInstant());
                    crlHolder.getRevokedCertificates().forEach(o -> { var e = (org.bouncycastle.cert.X509CRLEntryHolder) o; show("revoked " + e.getSerialNumber().toString(16) + " at " + e.getRevocationDate().toInstant()); });
                    check(crlHolder.getRevokedCertificate(cert.getSerialNumber()) != null
                                    && crlHolder.isSignatureValid(new JcaContentVerifierProviderBuilder().build(ca.issuing().certificate())),
                            "CRL signed by the issuing CA and lists the serial");

                    begin("OCSP now answers revoked");
                    status = ocsp(http, base, ca, cert);
                    show("OCSP status: " + status);
                    check(status.startsWith("revoked"), "OCSP says revoked");

                    begin("The audit trail (" + PkiContext.AUDIT_DIR + ", hash-chained, each record sealed by a signed checkpoint) holds every step");
                    Path trail = dir.resolve(PkiContext.AUDIT_DIR);
                    List<String> lines = new java.util.ArrayList<>();
                    try (Stream<Path> files = Files.list(trail)) {
                        for (Path f : files.filter(f -> f.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                            lines.addAll(Files.readAllLines(f));
                        }
                    }
                    lines.stream().filter(l -> !l.contains("\"audit.checkpoint\""))
                            .forEach(l -> show(l.length() > 160 ? l.substring(0, 157) + "…" : l));
                    AuditVerifier.Result trailCheck = AuditVerifier.verify(trail, AuditKeys.readPublicKey(dir.resolve("audit.pub")), true);
                    show("postern audit verify " + trail + " --pubkey " + dir.resolve("audit.pub") + " --strict: "
                            + (trailCheck.ok() ? "ok, " + trailCheck.records() + " records, " + trailCheck.checkpoints() + " checkpoints"
                            : trailCheck.problem().toString()));
                    check(trailCheck.ok() && trailCheck.unsealed() == 0, "the trail verifies strictly: chain intact, every record sealed");
                    check(lines.stream().anyMatch(l -> l.contains("\"pki.enroll\"")) && lines.stream().anyMatch(l -> l.contains("\"pki.revoke\""))
                            && lines.stream().anyMatch(l -> l.contains("\"pki.enroll.denied\"")) && lines.stream().noneMatch(l -> l.contains(token)),
                            "enroll, denied re-use and revoke recorded; the token itself never appears");

                    out.println();
                    out.println("All " + step + " steps behaved as shown.");
                    if (!exit) {
                        out.println();
                        out.println("The PKI server keeps running on " + base + " — try, in another terminal:");
                        out.println("  curl -s --cacert " + store.chainFile() + " " + base + "/.well-known/est/cacerts | head -3");
                        out.println("  curl -s --cacert " + store.chainFile() + " " + base + "/pki/crl | openssl crl -inform DER -noout -text");
                        out.println("Stop with Ctrl-C.");
                        out.flush();
                        // Ctrl-C ends the JVM without running this method's finally blocks: clean up there
                        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                            server.close();
                            if (!keep) {
                                deleteTree(dir);
                            }
                        }, "demo-shutdown"));
                        Thread.currentThread().join();
                    }
                } finally {
                    server.close();
                }
            }
            return 0;
        } catch (DemoFailed e) {
            out.println();
            out.println("DEMO FAILED at step " + step + ": " + e.getMessage());
            return DEMO_FAILED;
        } finally {
            out.flush();
            if (!keep) {
                deleteTree(dir);
            } else {
                out.println("Data kept in " + dir);
            }
        }
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
