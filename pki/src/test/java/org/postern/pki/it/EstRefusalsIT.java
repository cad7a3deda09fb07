package org.postern.pki.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPki;

/** Bad EST requests over real TLS with curl: a clear 4xx, Postern-Reason, nothing written, an audit line. */
class EstRefusalsIT {
    private static TestPki pki;

    @BeforeAll
    static void start() {
        pki = TestPki.create();
        Proc.requireTools(pki.workDir("tools"));
        pki.startServer();
    }

    @AfterAll
    static void stop() {
        if (pki != null) {
            pki.close();
        }
    }

    private static String token(String device) {
        return pki.registerForToken(device);
    }

    private static RealClients.Response enroll(RealClients c, String body, String userToken) {
        return c.curl("/.well-known/est/simpleenroll", "--data-binary", "@" + body, "-H", "Content-Type: application/pkcs10",
                "--user", userToken);
    }

    private static void assertRefused(RealClients.Response r, int status, String reason, String message) {
        assertThat(r.status()).as("status of %s", r.headers()).isEqualTo(status);
        assertThat(r.header("Postern-Reason")).isEqualTo(reason);
        assertThat(r.text()).isEqualTo(message + "\n");
    }

    private static void assertStillPending(String device) {
        assertThat(pki.registry.device(device).orElseThrow().status()).isEqualTo(DeviceStatus.PENDING);
        assertThat(pki.registry.certificatesOf(device)).isEmpty();
    }

    private static void assertAudited(String type, String device, String reason) {
        JsonNode last = pki.lastAudit(type);
        assertThat(last.path("reason").asText()).isEqualTo(reason);
        assertThat(last.path("device").asText()).isEqualTo(device);
        assertThat(last.path("source").asText()).startsWith("127.0.0.1:");
    }

    @Test
    void simpleenroll_malformedBase64_isRefused400() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("b64"));
        Files.writeString(c.dir.resolve("bad.b64"), "this is *not* base64");
        String t = token("bad-b64");
        assertRefused(enroll(c, "bad.b64", "bad-b64:" + t), 400, "est.bad_base64", "request body is not base64");
        assertStillPending("bad-b64");
        assertAudited("pki.enroll.denied", "bad-b64", "est.bad_base64");
    }

    @Test
    void simpleenroll_csrWithBrokenSignature_isRefused400() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("sig"));
        c.keyAndCsr("device", "bad-sig");
        byte[] der = Files.readAllBytes(c.dir.resolve("device.der"));
        der[der.length - 1] ^= 0x01;
        Files.write(c.dir.resolve("broken.der"), der);
        c.openssl("base64", "-in", "broken.der", "-out", "broken.b64").ok();
        assertRefused(enroll(c, "broken.b64", "bad-sig:" + token("bad-sig")), 400, "est.bad_signature", "CSR signature does not verify");
        assertStillPending("bad-sig");
        assertAudited("pki.enroll.denied", "bad-sig", "est.bad_signature");
    }

    @Test
    void simpleenroll_rsa1024Key_isRefused400WeakKey() {
        RealClients c = new RealClients(pki, pki.workDir("rsa"));
        Path csr = c.rsaKeyAndCsr("device", "weak-rsa", 1024);
        assertRefused(enroll(c, csr.toString(), "weak-rsa:" + token("weak-rsa")), 400, "est.weak_key", "key must be ECDSA P-256");
        assertStillPending("weak-rsa");
        assertAudited("pki.enroll.denied", "weak-rsa", "est.weak_key");
        assertThat(pki.lastAudit("pki.enroll.denied").path("detail").asText()).isEqualTo("expected an ECDSA P-256 key in the CSR, found RSA-1024");
    }

    @Test
    void simpleenroll_p192Key_isRefused400WeakKey() {
        RealClients c = new RealClients(pki, pki.workDir("p192"));
        Path csr = c.keyAndCsr("device", "weak-ec", "prime192v1");
        assertRefused(enroll(c, csr.toString(), "weak-ec:" + token("weak-ec")), 400, "est.weak_key", "key must be ECDSA P-256");
        assertStillPending("weak-ec");
        assertThat(pki.lastAudit("pki.enroll.denied").path("detail").asText()).isEqualTo("expected an ECDSA P-256 key in the CSR, found EC prime192v1");
    }

    @Test
    void simpleenroll_wrongToken_isRefused401() {
        RealClients c = new RealClients(pki, pki.workDir("wrong"));
        Path csr = c.keyAndCsr("device", "wrong-token");
        token("wrong-token");
        RealClients.Response r = enroll(c, csr.toString(), "wrong-token:guessed");
        assertRefused(r, 401, "est.bad_token", "enrollment token not accepted");
        assertThat(r.header("WWW-Authenticate")).isEqualTo("Basic realm=\"postern-est\"");
        assertStillPending("wrong-token");
        assertAudited("pki.enroll.denied", "wrong-token", "est.bad_token");
    }

    @Test
    void simpleenroll_reusedToken_isRefused401() {
        RealClients c = new RealClients(pki, pki.workDir("reuse"));
        Path csr = c.keyAndCsr("device", "reused");
        String t = token("reused");
        assertThat(enroll(c, csr.toString(), "reused:" + t).status()).isEqualTo(200);
        assertRefused(enroll(c, csr.toString(), "reused:" + t), 401, "est.token_used", "enrollment token not accepted");
        assertThat(pki.registry.certificatesOf("reused")).hasSize(1);
        assertAudited("pki.enroll.denied", "reused", "est.token_used");
    }

    @Test
    void simpleenroll_expiredToken_isRefused401() {
        RealClients c = new RealClients(pki, pki.workDir("expired"));
        Path csr = c.keyAndCsr("device", "expired");
        String t = token("expired");
        Instant start = pki.clock.instant();
        pki.clock.advance(Duration.ofHours(24));
        try {
            assertRefused(enroll(c, csr.toString(), "expired:" + t), 401, "est.token_expired", "enrollment token not accepted");
        } finally {
            pki.clock.set(start);
        }
        assertStillPending("expired");
        assertAudited("pki.enroll.denied", "expired", "est.token_expired");
    }

    @Test
    void simpleenroll_tokenOfRevokedDevice_isRefused403() {
        RealClients c = new RealClients(pki, pki.workDir("revoked"));
        Path csr = c.keyAndCsr("device", "revoked-a");
        String t = token("revoked-a");
        pki.service.revoke("revoked-a", RevocationReason.retired, "test");
        assertRefused(enroll(c, csr.toString(), "revoked-a:" + t), 403, "est.device_revoked", "device may not enroll");
        assertThat(pki.registry.certificatesOf("revoked-a")).isEmpty();
        assertAudited("pki.enroll.denied", "revoked-a", "est.device_revoked");
    }

    @Test
    void simpleenroll_bodyOver64KiB_isRefused413() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("big"));
        Files.writeString(c.dir.resolve("big.b64"), "A".repeat(64 * 1024 + 1), StandardCharsets.US_ASCII);
        RealClients.Response r = enroll(c, "big.b64", "big:" + token("big"));
        assertThat(r.status()).isEqualTo(413);
        assertStillPending("big");
        JsonNode last = pki.lastAudit("pki.enroll.denied");
        assertThat(last.path("reason").asText()).isEqualTo("http.too_large");
        assertThat(last.path("detail").asText()).isEqualTo("request body over 65536 bytes");
    }

    @Test
    void simplereenroll_otherDevicesCsrWithMyCertificate_isRefused403DeviceMismatch() {
        RealClients c = new RealClients(pki, pki.workDir("mismatch"));
        Path csrA = c.keyAndCsr("a", "laptop-A");
        Path certA = c.certificatesFrom(enroll(c, csrA.toString(), "laptop-A:" + token("laptop-A")), "a");
        c.keyAndCsr("b", "laptop-B");
        RealClients.Response r = c.curl("/.well-known/est/simplereenroll", "--cert", certA.toString(), "--key", "a.key",
                "--data-binary", "@b.b64", "-H", "Content-Type: application/pkcs10");
        assertRefused(r, 403, "est.device_mismatch", "CSR names another device");
        assertThat(pki.registry.certificatesOf("laptop-A")).hasSize(1);
        assertAudited("pki.renew.denied", "laptop-A", "est.device_mismatch");
    }

    @Test
    void simplereenroll_revokedDevice_isRefused403() {
        RealClients c = new RealClients(pki, pki.workDir("rev-renew"));
        Path csr = c.keyAndCsr("d", "rev-renew");
        Path cert = c.certificatesFrom(enroll(c, csr.toString(), "rev-renew:" + token("rev-renew")), "d");
        pki.service.revoke("rev-renew", RevocationReason.keyCompromise, "test");
        RealClients.Response r = c.curl("/.well-known/est/simplereenroll", "--cert", cert.toString(), "--key", "d.key",
                "--data-binary", "@d.b64", "-H", "Content-Type: application/pkcs10");
        assertRefused(r, 403, "est.cert_revoked", "certificate revoked");
        assertThat(pki.registry.certificatesOf("rev-renew")).hasSize(1);
        assertAudited("pki.renew.denied", "rev-renew", "est.cert_revoked");
    }
}
