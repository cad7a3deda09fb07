package org.postern.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateRevokedException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPki;

/** The trust manager on its own: what it refuses, with which exception, and the audit event it leaves. */
class DeviceTrustManagerTest {
    final TestPki pki = TestPki.create();
    final TestPki.Enrolled laptop = pki.enroll("laptop-1", "alice");
    final List<AuditEvent> audit = new ArrayList<>();
    final AtomicLong nanos = new AtomicLong();
    final LiveRevocations revocations = new LiveRevocations(pki.registry, pki.clock, nanos::get, Duration.ofSeconds(5), null);
    final DeviceTrustManager trust = new DeviceTrustManager(pki.ca.chain(), revocations, audit::add, pki.clock, Runnable::run);

    @AfterEach
    void close() {
        pki.close();
    }

    void check(X509Certificate cert) throws Exception {
        revocations.refresh();
        trust.checkClientTrusted(new X509Certificate[] {cert}, "UNKNOWN", (javax.net.ssl.SSLEngine) null);
    }

    AuditEvent rejected() {
        assertThat(audit).hasSize(1);
        assertThat(audit.getFirst().type()).isEqualTo("tls.rejected");
        return audit.getFirst();
    }

    @Test
    void activeDevice_accepted_nothingAudited() throws Exception {
        check(laptop.certificate());
        assertThat(audit).isEmpty();
        assertThat(trust.getAcceptedIssuers()).containsExactlyElementsOf(pki.ca.chain());
    }

    @Test
    void serverCertificateOfTheSameCa_refusedAsNotADevice() {
        X509Certificate server = pki.service.issueServer(List.of("localhost"), List.of(), "test").certificate();
        assertThatThrownBy(() -> check(server)).hasMessageContaining("expected EKU clientAuth (1.3.6.1.5.5.7.3.2)");
        assertThat(rejected().fields()).containsEntry("reason", "cert.not_device").doesNotContainKey("device")
                .containsEntry("certSerial", server.getSerialNumber().toString(16));
    }

    @Test
    void expired_refusedWithCertificateExpiredException() {
        pki.clock.advance(Duration.ofDays(91));
        assertThatThrownBy(() -> check(laptop.certificate())).isInstanceOf(CertificateExpiredException.class)
                .hasMessageContaining(": expired at " + laptop.certificate().getNotAfter().toInstant());
        assertThat(rejected().fields()).containsEntry("reason", "cert.expired");
    }

    @Test
    void notYetValid_refused() {
        pki.clock.advance(Duration.ofDays(-1));
        assertThatThrownBy(() -> check(laptop.certificate())).isInstanceOf(CertificateNotYetValidException.class)
                .hasMessageContaining(": not valid before ");
        assertThat(rejected().fields()).containsEntry("reason", "cert.not_yet_valid");
    }

    @Test
    void revoked_refusedWithCertificateRevokedException_namingTheDevice() {
        pki.service.revoke("laptop-1", RevocationReason.retired, "test");
        assertThatThrownBy(() -> check(laptop.certificate())).isInstanceOf(CertificateRevokedException.class)
                .hasMessage("device laptop-1: expected status active, found revoked");
        assertThat(rejected().fields()).containsEntry("reason", "device.revoked").containsEntry("device", "laptop-1")
                .containsKey("certSha256").containsKey("subject").doesNotContainKey("source");
    }

    @Test
    void otherCa_refusedAsUnknownCa() {
        try (TestPki elsewhere = TestPki.create()) {
            X509Certificate stranger = elsewhere.enroll("laptop-9", "mallory").certificate();
            assertThatThrownBy(() -> check(stranger)).hasMessageContaining("expected one signed by the device CA");
            assertThat(rejected().fields()).containsEntry("reason", "cert.unknown_ca");
        }
    }

    @Test
    void serverCertificates_neverTrusted() {
        assertThatThrownBy(() -> trust.checkServerTrusted(new X509Certificate[] {laptop.certificate()}, "UNKNOWN"))
                .hasMessage("the device trust manager checks client certificates only");
    }

    @Test
    void acceptedBefore_stillRefusedOnceExpiredOrRevoked() throws Exception {
        check(laptop.certificate()); // proven once: the path is not checked again
        pki.clock.advance(Duration.ofDays(91));
        assertThatThrownBy(() -> check(laptop.certificate())).isInstanceOf(CertificateExpiredException.class);
        pki.clock.advance(Duration.ofDays(-91));
        pki.service.suspend("laptop-1", "test");
        assertThatThrownBy(() -> check(laptop.certificate())).isInstanceOf(CertificateRevokedException.class)
                .hasMessage("device laptop-1: expected status active, found suspended");
        assertThat(audit).extracting(e -> e.fields().get("reason")).containsExactly("cert.expired", "device.suspended");
    }

    /**
     * Not a benchmark: a bound loose enough never to flake on a loaded 2-core machine, to notice a
     * check gone slow (I/O on the handshake path). The figures are printed.
     */
    @Test
    void check_staysInMemory() throws Exception {
        revocations.refresh();
        int n = 300;
        List<X509Certificate> fresh = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fresh.add(pki.enroll("bench-" + i, "alice").certificate());
        }
        revocations.refresh();
        long t0 = System.nanoTime();
        for (X509Certificate c : fresh) {
            trust.checkClientTrusted(new X509Certificate[] {c}, "UNKNOWN", (javax.net.ssl.SSLEngine) null);
        }
        Duration firstSeen = Duration.ofNanos((System.nanoTime() - t0) / n);
        X509Certificate[] chain = {laptop.certificate()};
        trust.checkClientTrusted(chain, "UNKNOWN", (javax.net.ssl.SSLEngine) null);
        int m = 5_000;
        long t1 = System.nanoTime();
        for (int i = 0; i < m; i++) {
            trust.checkClientTrusted(chain, "UNKNOWN", (javax.net.ssl.SSLEngine) null);
        }
        Duration again = Duration.ofNanos((System.nanoTime() - t1) / m);
        System.out.printf("DeviceTrustManager.checkClientTrusted: first sight %d µs, known certificate %d µs%n",
                firstSeen.toNanos() / 1000, again.toNanos() / 1000);
        assertThat(audit).isEmpty();
        assertThat(firstSeen).isLessThan(Duration.ofMillis(20));
        assertThat(again).isLessThan(Duration.ofMillis(2));
    }
}
