package org.postern.demo;

import static org.postern.demo.DemoLab.DEVICE;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.postern.agent.state.AgentHome;
import org.postern.cli.pki.PkiContext;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.tls.TlsContexts;

/** The steps after IT security revokes the laptop: the tunnel closes, handshakes fail, OCSP and the CRL agree, the audit trails verify. */
final class RevocationSteps {
    private RevocationSteps() {
    }

    static void revoke(DemoContext ctx) throws Exception {
        long t0 = System.nanoTime();
        String said = Commands.postern("pki", "device", "revoke", DEVICE, "--reason", "lost", "--dir", ctx.dir().toString(),
                "--passphrase-file", ctx.passFile().toString());
        ctx.show(said.strip());
        ctx.lab().held.setSoTimeout(5_000);
        String end = LoopbackHttp.endOf(ctx.lab().held);
        long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        ctx.show("the tunnel through SOCKS5: " + end + " " + ms + " ms after the revocation");
        ctx.check(!end.startsWith("still open") && ms < 2_000, "the open tunnel closed within 2 s");
        JsonNode sessionEnd = AuditRecords.awaitRecord(ctx.dir().resolve("audit/trail"), "session.end", DEVICE, Duration.ofSeconds(5));
        ctx.show("audit: " + (sessionEnd == null ? "no session.end" : AuditRecords.abbreviate(sessionEnd.toString())));
        ctx.check(sessionEnd != null && sessionEnd.path("reason").asText().equals("revoked"), "session.end with reason revoked in the audit trail");
    }

    static void revokedHandshake(DemoContext ctx) throws Exception {
        String handshake = handshake(ctx.lab().base, ctx.lab().ca, ctx.lab().home);
        ctx.show(handshake);
        ctx.check(handshake.startsWith("refused"), "the gateway refuses the revoked device at the TLS handshake");
    }

    static void revocationStatus(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        String status = PkiSteps.ocsp(ctx, lab.http, lab.base, lab.ca, lab.cert);
        ctx.show("OCSP status: " + status);
        HttpResponse<byte[]> crlRes = lab.http.send(HttpRequest.newBuilder(lab.base.resolve("/pki/crl")).build(), HttpResponse.BodyHandlers.ofByteArray());
        X509CRLHolder crlHolder = new X509CRLHolder(crlRes.body());
        ctx.show("CRL: " + crlHolder.getRevokedCertificates().size() + " entry, next update " + crlHolder.getNextUpdate().toInstant());
        ctx.check(status.startsWith("revoked") && crlHolder.getRevokedCertificate(lab.cert.getSerialNumber()) != null
                        && crlHolder.isSignatureValid(new JcaContentVerifierProviderBuilder().build(lab.ca.issuing().certificate())),
                "OCSP says revoked; the CRL, signed by the issuing CA, lists the serial");
    }

    static void auditTrails(DemoContext ctx) throws Exception {
        Path dir = ctx.dir();
        java.security.PublicKey auditKey = AuditKeys.readPublicKey(dir.resolve("audit.pub"));
        AuditVerifier.Result gatewayTrail = AuditVerifier.verify(dir.resolve("audit/trail"), auditKey, false);
        AuditVerifier.Result pkiTrail = AuditVerifier.verify(dir.resolve(PkiContext.AUDIT_DIR), auditKey, true);
        List<String> types = AuditRecords.types(dir.resolve("audit/trail"));
        List<String> pkiTypes = AuditRecords.types(dir.resolve(PkiContext.AUDIT_DIR));
        ctx.show("gateway " + dir.resolve("audit/trail") + ": " + (gatewayTrail.ok() ? "ok, " + gatewayTrail.records() + " records, "
                + gatewayTrail.checkpoints() + " checkpoints" : gatewayTrail.problem()));
        ctx.show("  events: " + String.join(", ", types.stream().filter(t -> !t.equals("audit.checkpoint")).distinct().toList()));
        ctx.show("PKI     " + dir.resolve(PkiContext.AUDIT_DIR) + ": " + (pkiTrail.ok() ? "ok, " + pkiTrail.records() + " records, "
                + pkiTrail.checkpoints() + " checkpoints" : pkiTrail.problem()));
        ctx.show("  events: " + String.join(", ", pkiTypes.stream().filter(t -> !t.equals("audit.checkpoint")).distinct().toList()));
        ctx.check(gatewayTrail.ok() && types.containsAll(List.of("pki.enroll", "pki.enroll.denied", "session.start", "posture.decision", "session.end"))
                        && pkiTrail.ok() && pkiTrail.unsealed() == 0 && pkiTypes.containsAll(List.of("pki.token.create", "pki.revoke"))
                        && Stream.concat(AuditRecords.records(dir.resolve("audit/trail")).stream(), AuditRecords.records(dir.resolve(PkiContext.AUDIT_DIR)).stream())
                                .noneMatch(n -> n.toString().contains(ctx.lab().device.token().reveal())),
                "both trails verify; enrollment, sessions, posture decisions and the revocation are recorded; the token itself never appears");
    }

    /** A fresh TLS 1.3 connection with the device's key and certificate, trusting the device CA root. */
    private static String handshake(URI base, CertificateAuthority ca, AgentHome home) throws Exception {
        SSLContext tls = TlsContexts.client().identity(home.keys().getPrivate(), List.of(home.certificate()))
                .trust(List.of(ca.root())).jdk();
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
}
