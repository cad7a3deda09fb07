package org.postern.pki.crl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPki;

class CrlPublisherTest {
    private TestPki pki;

    @BeforeEach
    void setUp() {
        pki = TestPki.create();
    }

    @AfterEach
    void tearDown() {
        pki.close();
    }

    private static X509CRL parse(byte[] der) throws Exception {
        return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
    }

    @Test
    void revoke_signsCrlListingTheSerialWithReason() throws Exception {
        X509Certificate keep = pki.enroll("crl-keep", "alice").certificate();
        X509Certificate lost = pki.enroll("crl-lost", "alice").certificate();
        pki.service.revoke("crl-lost", RevocationReason.lost, "test");

        byte[] der = Files.readAllBytes(pki.store.crlFile());
        X509CRL crl = parse(der);
        crl.verify(pki.ca.issuing().certificate().getPublicKey());
        assertThat(crl.getIssuerX500Principal()).isEqualTo(pki.ca.issuing().certificate().getSubjectX500Principal());
        X509CRLEntry entry = crl.getRevokedCertificate(lost.getSerialNumber());
        assertThat(entry).as("revoked serial on the CRL").isNotNull();
        assertThat(entry.getRevocationReason()).isEqualTo(java.security.cert.CRLReason.KEY_COMPROMISE);
        assertThat(entry.getRevocationDate().toInstant()).isEqualTo(pki.clock.instant());
        assertThat(crl.getRevokedCertificate(keep.getSerialNumber())).isNull();
        assertThat(crl.getNextUpdate().toInstant()).isEqualTo(pki.clock.instant().plus(Duration.ofDays(7)));
        assertThat(pki.crl.current().der()).isEqualTo(der);
    }

    @Test
    void suspend_listsCertificateHold() throws Exception {
        X509Certificate held = pki.enroll("crl-held", "alice").certificate();
        pki.service.suspend("crl-held", "test");
        X509CRLEntry entry = parse(pki.crl.current().der()).getRevokedCertificate(held.getSerialNumber());
        assertThat(entry.getRevocationReason()).isEqualTo(java.security.cert.CRLReason.CERTIFICATE_HOLD);
        pki.service.resume("crl-held", "test");
        assertThat(parse(pki.crl.current().der()).getRevokedCertificate(held.getSerialNumber())).isNull();
    }

    @Test
    void crlNumber_increasesWithEachSignature() {
        CrlPublisher.Published a = pki.crl.publish();
        CrlPublisher.Published b = pki.crl.publish();
        assertThat(b.number()).isGreaterThan(a.number());
    }

    @Test
    void current_pastHalfItsValidity_isResigned() {
        CrlPublisher.Published first = pki.crl.publish();
        pki.clock.advance(Duration.ofDays(3));
        assertThat(pki.crl.current().number()).isEqualTo(first.number());
        pki.clock.advance(Duration.ofDays(1));
        CrlPublisher.Published later = pki.crl.current();
        assertThat(later.number()).isGreaterThan(first.number());
        assertThat(later.thisUpdate()).isEqualTo(pki.clock.instant());
    }

    @Test
    void keepFresh_onADataDirectoryWithoutACrl_signsOneAtOnce() throws Exception {
        assertThat(pki.store.crlFile()).doesNotExist(); // TestPki, like a data directory not made by pki init
        try (CrlPublisher.Refresher r = pki.crl.keepFresh(e -> { throw new AssertionError(e); })) {
            X509CRL crl = parse(Files.readAllBytes(pki.store.crlFile()));
            crl.verify(pki.ca.issuing().certificate().getPublicKey());
            assertThat(crl.getThisUpdate().toInstant()).isEqualTo(pki.clock.instant());
        }
    }

    @Test
    void keepFresh_aFreshCrl_isLeftAlone_andAStaleOneResigned() {
        CrlPublisher.Published fresh = pki.crl.publish();
        try (CrlPublisher.Refresher r = pki.crl.keepFresh(e -> { throw new AssertionError(e); })) {
            assertThat(pki.crl.current().number()).isEqualTo(fresh.number());
        }
        pki.clock.advance(Duration.ofDays(8)); // past nextUpdate: a gateway that starts now signs a new one
        try (CrlPublisher.Refresher r = pki.crl.keepFresh(e -> { throw new AssertionError(e); })) {
            assertThat(pki.crl.current().number()).isGreaterThan(fresh.number());
            assertThat(pki.crl.current().thisUpdate()).isEqualTo(pki.clock.instant());
        }
    }

    @Test
    void keepFresh_looksWellInsideTheHalfOfTheValidity() {
        // 7 days by default: hourly; the smallest allowed validity (1 h): every 7.5 min, before the half (30 min)
        assertThat(pki.crl.refreshPeriod()).isEqualTo(Duration.ofHours(1));
        CrlPublisher shortLived = new CrlPublisher(pki.ca, pki.registry, pki.store.crlFile(), Duration.ofHours(1), pki.clock);
        assertThat(shortLived.refreshPeriod()).isEqualTo(Duration.ofMinutes(7).plusSeconds(30));
    }
}
