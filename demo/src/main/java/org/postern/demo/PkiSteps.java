package org.postern.demo;

import static org.postern.demo.DemoLab.DEVICE;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.postern.agent.cli.AgentCommand;
import org.postern.agent.enroll.EstClient;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.state.AgentHome;
import org.postern.cli.pki.PkiContext;
import org.postern.config.PkiSettings;
import org.postern.audit.trail.SharedAuditTrail;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.EvidenceException;
import org.postern.protocol.posture.PostureClaims;

/** The steps about the device CA: create it, register the laptop, enroll it over EST, OCSP, signed evidence. */
final class PkiSteps {
    private PkiSteps() {
    }

    static void createCa(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        CaStore store = new CaStore(ctx.dir());
        PkiSettings pki = PkiSettings.defaults();
        CertificateAuthority ca = store.init("Postern Demo", ctx.protection(), ctx.clock().instant(), ctx.random(),
                pki.certificates().ocspResponderLifetime());
        ctx.show("root     " + ca.root().getSubjectX500Principal().getName());
        ctx.show("issuing  " + ca.issuing().certificate().getSubjectX500Principal().getName());
        ctx.show("root SHA-256 " + ca.rootSha256());
        ctx.check(Files.readString(store.dir().resolve("issuing.key")).contains("ENCRYPTED PRIVATE KEY"), "issuing key stored encrypted (PKCS#8)");

        SqliteRegistry registry = lab.keep(SqliteRegistry.open(ctx.dir(), ctx.clock()));
        SharedAuditTrail pkiAudit = lab.keep(PkiContext.auditTrail(ctx.dir(), ctx.random()));
        CrlPublisher crl = new CrlPublisher(ca, registry, store.crlFile(), pki.revocation().crlValidity(), ctx.clock());
        lab.store = store;
        lab.ca = ca;
        lab.registry = registry;
        lab.service = new PkiService(() -> ca, registry, pkiAudit, pki, ctx.clock(), ctx.random(), () -> crl);
    }

    static void registerDevice(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        PkiService.NewDevice device = lab.service.addDevice(DEVICE, "alice", List.of("admins"), "PF3XK9ZQ", null, "demo");
        lab.device = device;
        ctx.show("token " + device.token().reveal().substring(0, 6) + "… (256 random bits; stored only as its SHA-256), expires " + device.expiresAt());
        ctx.check(lab.registry.device(DEVICE).orElseThrow().status().wireName().equals("pending"), "device is pending");
    }

    static void enroll(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        CertificateAuthority ca = lab.ca;
        AgentHome home = new AgentHome(ctx.dir().resolve("agent"));
        Enroller.Enrolled enrolled = new Enroller(home, ctx.clock(), ctx.random()).enroll(lab.base, DEVICE, lab.device.token(), ca.rootSha256());
        X509Certificate cert = enrolled.certificate();
        lab.home = home;
        lab.cert = cert;
        ctx.show("subject  " + cert.getSubjectX500Principal().getName());
        ctx.show("serial   " + cert.getSerialNumber().toString(16) + ", valid " + cert.getNotBefore().toInstant() + " → " + cert.getNotAfter().toInstant());
        ctx.show("key      " + home.keyFile() + " (never left this machine)");
        cert.verify(ca.issuing().certificate().getPublicKey());
        ctx.check(cert.getPublicKey().equals(home.keys().getPublic())
                        && lab.registry.device(DEVICE).orElseThrow().status().wireName().equals("active"),
                "certificate signed by the issuing CA for the laptop's own key; device now active");
        lab.pinned = EstClient.pinned(ca.rootSha256());
        try {
            new EstClient(lab.base.resolve("/.well-known/est/"), lab.pinned)
                    .simpleEnroll(DEVICE, lab.device.token(), EstClient.csr(org.postern.keys.KeyFiles.generateP256(ctx.random()), DEVICE));
            ctx.check(false, "the same token again is refused (one-time)");
        } catch (EstClient.EstException e) {
            ctx.show("token again: " + e.getMessage());
            ctx.check(e.status() == 401 && e.reason().equals("est.token_used"), "the same token again is refused: HTTP 401, est.token_used");
        }
        lab.http = HttpClient.newBuilder().sslContext(lab.pinned).version(HttpClient.Version.HTTP_1_1).build();
    }

    static void ocspGood(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        String status = ocsp(ctx, lab.http, lab.base, lab.ca, lab.cert);
        ctx.show("OCSP status: " + status);
        ctx.check(status.equals("good"), "OCSP says good");
    }

    static void signedEvidence(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        X509Certificate cert = lab.cert;
        KeyPair keys = lab.home.keys();
        lab.facts = lab.collecting.join();
        String nonce = HexFormat.of().formatHex(ctx.random().generateSeed(16));
        String jws = Evidence.sign(PostureClaims.of(nonce, DEVICE, ctx.clock().instant(), new AgentInfo(AgentCommand.NAME, AgentCommand.VERSION), lab.facts),
                keys.getPrivate(), cert);
        String[] parts = jws.split("\\.");
        String forged = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
                new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
                        .replace("\"" + DEVICE + "\"", "\"laptop-0099\"").getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        String genuine = refusal(() -> Evidence.verify(jws, cert, nonce, ctx.clock().instant(), Duration.ofSeconds(60)));
        String forgedReason = refusal(() -> Evidence.verify(forged, cert, nonce, ctx.clock().instant(), Duration.ofSeconds(60)));
        String replayReason = refusal(() -> Evidence.verify(jws, cert, "another-challenge", ctx.clock().instant(), Duration.ofSeconds(60)));
        ctx.show("genuine: " + genuine + "; edited claims: " + forgedReason + "; old nonce: " + replayReason);
        ctx.check(genuine.equals("accepted") && forgedReason.equals("evidence.bad_signature") && replayReason.equals("evidence.nonce_unknown"),
                "genuine evidence accepted, edited claims evidence.bad_signature, a replayed nonce evidence.nonce_unknown");
    }

    /** Asks the gateway's OCSP responder about {@code cert}, checking the answer's signature and nonce: "good", "revoked (…)" or "unknown". */
    static String ocsp(DemoContext ctx, HttpClient http, URI base, CertificateAuthority ca, X509Certificate cert) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(ca.issuing().certificate()), cert.getSerialNumber());
        byte[] nonce = new byte[16];
        new SecureRandom().nextBytes(nonce);
        Extension sent = new Extension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false, new DEROctetString(nonce).getEncoded());
        byte[] req = new OCSPReqBuilder().addRequest(id).setRequestExtensions(new Extensions(sent)).build().getEncoded();
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(base.resolve("/pki/ocsp")).header("Content-Type", "application/ocsp-request")
                .POST(HttpRequest.BodyPublishers.ofByteArray(req)).build(), HttpResponse.BodyHandlers.ofByteArray());
        OCSPResp resp = new OCSPResp(r.body());
        ctx.check(resp.getStatus() == OCSPResp.SUCCESSFUL, "OCSP response successful");
        BasicOCSPResp basic = (BasicOCSPResp) resp.getResponseObject();
        ctx.check(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(basic.getCerts()[0]))
                        && basic.getCerts()[0].isSignatureValid(new JcaContentVerifierProviderBuilder().build(ca.issuing().certificate())),
                "OCSP answer signed by the delegated responder the issuing CA certified");
        Extension echoed = basic.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
        ctx.check(sent.equals(echoed), "nonce echoed");
        ctx.show("responder " + basic.getCerts()[0].getSubject() + ", nonce " + HexFormat.of().formatHex(nonce, 0, 4) + "… echoed");
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
}
