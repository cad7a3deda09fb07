package org.postern.agent.enroll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postern.pki.PkiService;
import org.postern.keys.Fingerprints;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;

/** The agent's EST client against a real PKI server on a loopback port. */
@Timeout(120)
class EstClientTest {
    private static TestPki pki;
    private static URI est;

    @BeforeAll
    static void startPki() {
        pki = TestPki.create();
        pki.startServer();
        est = URI.create(pki.url("/.well-known/est")); // no trailing slash: the client adds it
    }

    @AfterAll
    static void stopPki() {
        if (pki != null) {
            pki.close();
        }
    }

    private static EstClient pinnedClient() {
        return new EstClient(est, EstClient.pinned(pki.ca.rootSha256()));
    }

    private static PkiService.NewDevice register(String id) {
        return pki.service.addDevice(id, "alice", List.of("staff"), null, null, "test");
    }

    private static String commonName(X509Certificate cert) throws InvalidNameException {
        return new LdapName(cert.getSubjectX500Principal().getName()).getRdns().stream()
                .filter(r -> r.getType().equalsIgnoreCase("CN")).map(r -> r.getValue().toString()).findFirst().orElseThrow();
    }

    private static void assertStillPending(String id) {
        assertThat(pki.registry.device(id).orElseThrow().status()).isEqualTo(DeviceStatus.PENDING);
        assertThat(pki.registry.certificatesOf(id)).isEmpty();
    }

    @Test
    void cacerts_returnsTheIssuingCaAndTheRoot() throws Exception {
        List<X509Certificate> chain = pinnedClient().cacerts();

        // certs-only PKCS#7 holds a DER SET OF certificates: sorted by encoding, so in no fixed order
        assertThat(chain).containsExactlyInAnyOrderElementsOf(pki.ca.chain());
        assertThat(chain).extracting(Fingerprints::sha256).contains(pki.ca.rootSha256());
    }

    @Test
    void simpleEnroll_registeredDeviceToken_returnsCertificateForTheKeyNamedAfterTheDevice() throws Exception {
        PkiService.NewDevice d = register("laptop-enroll");
        KeyPair keys = TestCsrs.p256();

        X509Certificate cert = pinnedClient().simpleEnroll("laptop-enroll", d.token(), EstClient.csr(keys, "laptop-enroll"));

        assertThat(cert.getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(commonName(cert)).isEqualTo("laptop-enroll");
        cert.verify(pki.ca.chain().getFirst().getPublicKey()); // signed by the issuing CA
        assertThat(pki.registry.device("laptop-enroll").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
        assertThat(pki.lastAudit("pki.enroll").path("device").asText()).isEqualTo("laptop-enroll");
    }

    @Test
    void simpleEnroll_csrNamingAnotherDevice_stillNamesTheTokensDevice() throws Exception {
        PkiService.NewDevice d = register("laptop-named");
        KeyPair keys = TestCsrs.p256();

        X509Certificate cert = pinnedClient().simpleEnroll("laptop-named", d.token(), EstClient.csr(keys, "somebody-else"));

        assertThat(commonName(cert)).as("the CA takes the name from the token, not the CSR").isEqualTo("laptop-named");
    }

    @Test
    void simpleEnroll_wrongPin_failsTheHandshakeAndIssuesNothing() throws Exception {
        PkiService.NewDevice d = register("laptop-wrongpin");
        String notOurCa = Fingerprints.sha256("some other CA".getBytes(StandardCharsets.UTF_8));
        EstClient client = new EstClient(est, EstClient.pinned(notOurCa));
        byte[] csr = EstClient.csr(TestCsrs.p256(), "laptop-wrongpin");

        assertThatThrownBy(() -> client.simpleEnroll("laptop-wrongpin", d.token(), csr))
                .isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("the server's chain does not contain the pinned CA: expected SHA-256 " + notOurCa);
        assertStillPending("laptop-wrongpin");

        // Nothing was consumed: with the right pin the same token still enrolls.
        X509Certificate cert = pinnedClient().simpleEnroll("laptop-wrongpin", d.token(), csr);
        assertThat(commonName(cert)).isEqualTo("laptop-wrongpin");
    }

    @Test
    void simpleEnroll_reusedToken_isRefused401TokenUsed() throws Exception {
        PkiService.NewDevice d = register("laptop-reuse");
        EstClient client = pinnedClient();
        client.simpleEnroll("laptop-reuse", d.token(), EstClient.csr(TestCsrs.p256(), "laptop-reuse"));

        assertThatThrownBy(() -> client.simpleEnroll("laptop-reuse", d.token(), EstClient.csr(TestCsrs.p256(), "laptop-reuse")))
                .isInstanceOfSatisfying(EstClient.EstException.class, e -> {
                    assertThat(e.status()).isEqualTo(401);
                    assertThat(e.reason()).isEqualTo("est.token_used");
                })
                .hasMessage("EST simpleenroll refused: HTTP 401 est.token_used: enrollment token not accepted");
        assertThat(pki.registry.certificatesOf("laptop-reuse")).hasSize(1);
        assertThat(pki.lastAudit("pki.enroll.denied").path("reason").asText()).isEqualTo("est.token_used");
    }

    @Test
    void simpleReenroll_withClientCertificate_renewsSameDeviceWithNewSerial() throws Exception {
        TestPki.Enrolled device = pki.enroll("laptop-renew", "alice");
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(device.certificate());
        chain.addAll(pki.ca.chain());
        EstClient client = new EstClient(est, EstClient.withClientCertificate(pki.ca.rootSha256(), device.keys(), chain));

        X509Certificate renewed = client.simpleReenroll(EstClient.csr(device.keys(), "laptop-renew"));

        assertThat(commonName(renewed)).isEqualTo("laptop-renew");
        assertThat(renewed.getSerialNumber()).isNotEqualTo(device.certificate().getSerialNumber());
        assertThat(renewed.getPublicKey()).isEqualTo(device.keys().getPublic());
        var audit = pki.lastAudit("pki.renew");
        assertThat(audit.path("device").asText()).isEqualTo("laptop-renew");
        assertThat(audit.path("previousSerial").asText()).isEqualTo(device.certificate().getSerialNumber().toString(16));
        assertThat(audit.path("rekey").asBoolean()).isFalse();
    }

    @Test
    void simpleReenroll_withoutClientCertificate_isRefused401() throws Exception {
        assertThatThrownBy(() -> pinnedClient().simpleReenroll(EstClient.csr(TestCsrs.p256(), "laptop-nocert")))
                .isInstanceOfSatisfying(EstClient.EstException.class, e -> {
                    assertThat(e.status()).isEqualTo(401);
                    assertThat(e.reason()).isEqualTo("est.no_client_cert");
                })
                .hasMessage("EST simplereenroll refused: HTTP 401 est.no_client_cert: client certificate required");
    }
}
