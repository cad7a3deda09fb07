package org.postern.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postern.config.Secret;
import org.postern.pki.registry.CertStatus;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;

class PkiServiceTest {
    private static TestPki pki;

    @BeforeAll
    static void setUp() {
        pki = TestPki.create();
    }

    @AfterAll
    static void tearDown() {
        pki.close();
    }

    private static PkiService.NewDevice add(String id) {
        return pki.service.addDevice(id, "alice", List.of("staff"), null, null, "test");
    }

    private static PkiException refusedEnroll(String user, Secret token, byte[] body) {
        return catchThrowableOfType(PkiException.class, () -> pki.service.enroll(user, token, body, "127.0.0.1:1"));
    }

    private static void assertNothingWritten(String id) {
        assertThat(pki.registry.device(id).orElseThrow().status()).isEqualTo(DeviceStatus.PENDING);
        assertThat(pki.registry.certificatesOf(id)).isEmpty();
    }

    private static void assertDeniedAudit(String type, String id, String reason) {
        JsonNode last = pki.lastAudit(type);
        assertThat(last.path("reason").asText()).isEqualTo(reason);
        assertThat(last.path("device").asText()).isEqualTo(id);
    }

    @Test
    void enroll_validToken_issuesDesignedProfileWithNamesFromRegistry() throws Exception {
        PkiService.NewDevice d = add("svc-ok");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = pki.service.enroll("svc-ok", d.token(), TestCsrs.body(keys, "evil"), "127.0.0.1:1");

        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=svc-ok,O=" + TestPki.CA_NAME);
        assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(6, "urn:postern:device:svc-ok"));
        assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(cert.getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(cert.getSerialNumber().bitLength()).isGreaterThanOrEqualTo(64);
        assertThat(cert.getNotAfter().toInstant()).isEqualTo(pki.clock.instant().plus(Duration.ofDays(90)));
        assertThat(new String(cert.getExtensionValue("1.3.6.1.5.5.7.1.1"), StandardCharsets.ISO_8859_1))
                .contains("https://127.0.0.1:" + pki.port + "/pki/ocsp");
        assertThat(new String(cert.getExtensionValue("2.5.29.31"), StandardCharsets.ISO_8859_1))
                .contains("https://127.0.0.1:" + pki.port + "/pki/crl");
        cert.verify(pki.ca.issuing().certificate().getPublicKey());

        assertThat(pki.registry.device("svc-ok").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
        assertThat(pki.registry.status(cert.getSerialNumber())).isInstanceOf(CertStatus.Good.class);
        JsonNode audit = pki.lastAudit("pki.enroll");
        assertThat(audit.path("device").asText()).isEqualTo("svc-ok");
        assertThat(audit.path("certSerial").asText()).isEqualTo(cert.getSerialNumber().toString(16));
    }

    @Test
    void enroll_reusedToken_isRefused401_tokenUsed() {
        PkiService.NewDevice d = add("svc-reuse");
        pki.service.enroll("svc-reuse", d.token(), TestCsrs.body(TestCsrs.p256(), "svc-reuse"), "t");
        PkiException e = refusedEnroll("svc-reuse", d.token(), TestCsrs.body(TestCsrs.p256(), "svc-reuse"));
        assertThat(e.code()).isEqualTo("est.token_used");
        assertThat(e.httpStatus()).isEqualTo(401);
        assertThat(e.detail()).startsWith("the token of device svc-reuse was already used at ");
        assertThat(pki.registry.certificatesOf("svc-reuse")).hasSize(1);
        assertDeniedAudit("pki.enroll.denied", "svc-reuse", "est.token_used");
    }

    @Test
    void enroll_expiredToken_isRefused401_tokenExpired() {
        PkiService.NewDevice d = pki.service.addDevice("svc-exp", "alice", List.of(), null, Duration.ofMinutes(10), "test");
        var start = pki.clock.instant();
        pki.clock.advance(Duration.ofMinutes(10));
        try {
            PkiException e = refusedEnroll("svc-exp", d.token(), TestCsrs.body(TestCsrs.p256(), "svc-exp"));
            assertThat(e.code()).isEqualTo("est.token_expired");
            assertThat(e.httpStatus()).isEqualTo(401);
            assertThat(e.detail()).isEqualTo("the token of device svc-exp expired at " + d.expiresAt());
        } finally {
            pki.clock.set(start);
        }
        assertNothingWritten("svc-exp");
        assertDeniedAudit("pki.enroll.denied", "svc-exp", "est.token_expired");
    }

    @Test
    void enroll_wrongToken_isRefused401_badToken() {
        add("svc-wrong");
        PkiException e = refusedEnroll("svc-wrong", Secret.of("not-a-token"), TestCsrs.body(TestCsrs.p256(), "svc-wrong"));
        assertThat(e.code()).isEqualTo("est.bad_token");
        assertThat(e.httpStatus()).isEqualTo(401);
        assertThat(e.getMessage()).isEqualTo("enrollment token not accepted");
        assertNothingWritten("svc-wrong");
    }

    @Test
    void enroll_tokenOfAnotherDeviceAsBasicUser_isRefused401() {
        PkiService.NewDevice a = add("svc-a");
        add("svc-b");
        PkiException e = refusedEnroll("svc-b", a.token(), TestCsrs.body(TestCsrs.p256(), "svc-b"));
        assertThat(e.code()).isEqualTo("est.bad_token");
        assertThat(e.detail()).isEqualTo("the token belongs to device svc-a but the Basic user is \"svc-b\"");
        assertNothingWritten("svc-a");
        assertNothingWritten("svc-b");
    }

    @Test
    void enroll_weakKeys_areRefused400_weakKey() {
        PkiService.NewDevice d = add("svc-weak");
        PkiException rsa = refusedEnroll("svc-weak", d.token(), TestCsrs.body(TestCsrs.rsa(1024), "svc-weak"));
        assertThat(rsa.code()).isEqualTo("est.weak_key");
        assertThat(rsa.httpStatus()).isEqualTo(400);
        assertThat(rsa.detail()).isEqualTo("expected an ECDSA P-256 key in the CSR, found RSA-1024");
        PkiException p192 = refusedEnroll("svc-weak", d.token(), TestCsrs.body(TestCsrs.ec("secp192r1"), "svc-weak"));
        assertThat(p192.code()).isEqualTo("est.weak_key");
        assertThat(p192.detail()).isEqualTo("expected an ECDSA P-256 key in the CSR, found EC prime192v1");
        assertNothingWritten("svc-weak");
    }

    @Test
    void enroll_brokenSignatureOrBase64_isRefused400_andTokenStaysUsable() {
        PkiService.NewDevice d = add("svc-bad");
        KeyPair keys = TestCsrs.p256();
        byte[] broken = TestCsrs.body(TestCsrs.withBrokenSignature(TestCsrs.csrDer(keys, "svc-bad")));
        assertThat(refusedEnroll("svc-bad", d.token(), broken).code()).isEqualTo("est.bad_signature");
        PkiException b64 = refusedEnroll("svc-bad", d.token(), "not base64 !!".getBytes(StandardCharsets.US_ASCII));
        assertThat(b64.code()).isEqualTo("est.bad_base64");
        assertThat(b64.detail()).contains("byte 0x21 is not a base64 character");
        assertNothingWritten("svc-bad");

        X509Certificate cert = pki.service.enroll("svc-bad", d.token(), TestCsrs.body(keys, "svc-bad"), "t");
        assertThat(cert.getSubjectX500Principal().getName()).startsWith("CN=svc-bad");
    }

    @Test
    void enroll_revokedDevicesToken_isRefused403() {
        PkiService.NewDevice d = add("svc-revoked");
        pki.service.revoke("svc-revoked", RevocationReason.lost, "test");
        PkiException e = refusedEnroll("svc-revoked", d.token(), TestCsrs.body(TestCsrs.p256(), "svc-revoked"));
        assertThat(e.httpStatus()).isEqualTo(403);
        assertThat(e.code()).isEqualTo("est.device_revoked");
        assertThat(e.detail()).isEqualTo("device svc-revoked is revoked; its token is not honoured");
        assertThat(pki.registry.certificatesOf("svc-revoked")).isEmpty();
        assertDeniedAudit("pki.enroll.denied", "svc-revoked", "est.device_revoked");
    }

    @Test
    void reenroll_renewAndRekey_issueNewCertificatesForSameDevice() {
        TestPki.Enrolled dev = pki.enroll("svc-renew", "bob");
        X509Certificate renewed = pki.service.reenroll(dev.certificate(), TestCsrs.body(dev.keys(), "svc-renew"), "t");
        assertThat(renewed.getSerialNumber()).isNotEqualTo(dev.certificate().getSerialNumber());
        assertThat(renewed.getPublicKey()).isEqualTo(dev.keys().getPublic());
        assertThat(pki.lastAudit("pki.renew").path("rekey").asBoolean()).isFalse();

        KeyPair next = TestCsrs.p256();
        X509Certificate rekeyed = pki.service.reenroll(renewed, TestCsrs.body(next, "svc-renew"), "t");
        assertThat(rekeyed.getPublicKey()).isEqualTo(next.getPublic());
        assertThat(rekeyed.getSubjectX500Principal()).isEqualTo(dev.certificate().getSubjectX500Principal());
        assertThat(pki.lastAudit("pki.renew").path("rekey").asBoolean()).isTrue();
        assertThat(pki.registry.certificatesOf("svc-renew")).hasSize(3);
    }

    @Test
    void reenroll_csrNamingAnotherDevice_isRefused403_deviceMismatch() {
        TestPki.Enrolled a = pki.enroll("svc-mis-a", "bob");
        PkiException e = catchThrowableOfType(PkiException.class,
                () -> pki.service.reenroll(a.certificate(), TestCsrs.body(a.keys(), "svc-mis-b"), "t"));
        assertThat(e.code()).isEqualTo("est.device_mismatch");
        assertThat(e.httpStatus()).isEqualTo(403);
        assertThat(e.detail()).isEqualTo("the TLS client certificate is device svc-mis-a's but the CSR subject names \"svc-mis-b\"");
        assertThat(pki.registry.certificatesOf("svc-mis-a")).hasSize(1);
        assertDeniedAudit("pki.renew.denied", "svc-mis-a", "est.device_mismatch");
    }

    @Test
    void reenroll_revokedDevice_isRefused403_certRevoked() {
        TestPki.Enrolled a = pki.enroll("svc-rev-renew", "bob");
        pki.service.revoke("svc-rev-renew", RevocationReason.keyCompromise, "test");
        PkiException e = catchThrowableOfType(PkiException.class,
                () -> pki.service.reenroll(a.certificate(), TestCsrs.body(a.keys(), "svc-rev-renew"), "t"));
        assertThat(e.code()).isEqualTo("est.cert_revoked");
        assertThat(e.httpStatus()).isEqualTo(403);
        assertThat(pki.registry.certificatesOf("svc-rev-renew")).hasSize(1);
        assertDeniedAudit("pki.renew.denied", "svc-rev-renew", "est.cert_revoked");
        assertThat(pki.lastAudit("pki.renew.denied").path("certSerial").asText()).isEqualTo(a.certificate().getSerialNumber().toString(16));
    }
}
