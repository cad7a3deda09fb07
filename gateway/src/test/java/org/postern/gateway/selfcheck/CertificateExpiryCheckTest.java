package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.pki.testing.TestPki;

class CertificateExpiryCheckTest {

    private static List<Finding> at(List<CertificateExpiryCheck.Item> items, Instant now) {
        return new CertificateExpiryCheck(items, List.of(), Clock.fixed(now, ZoneOffset.UTC)).run();
    }

    @Test
    void serverCertificate_fine_nearExpiry_expired() throws Exception {
        try (TestPki pki = TestPki.create()) {
            X509Certificate server = pki.service.issueServer(List.of("gw.example.org"), List.of(), "test").certificate();
            X509Certificate admin = pki.service.issueAdmin("alice", "security-admin", "test").certificate();
            Instant serverEnd = server.getNotAfter().toInstant();
            var items = List.of(
                    new CertificateExpiryCheck.Item("server certificate", server, Severity.CRITICAL, "issue a new one"),
                    new CertificateExpiryCheck.Item("admin certificate alice", admin, Severity.WARNING, "issue-admin"),
                    new CertificateExpiryCheck.Item("issuing CA", pki.ca.issuing().certificate(), Severity.CRITICAL, "renew"));

            List<Finding> now = at(items, pki.clock.instant());
            assertThat(now).singleElement().satisfies(f -> {
                assertThat(f.severity()).isEqualTo(Severity.INFO);
                assertThat(f.message()).startsWith("3 certificates not close to their end; the first to end is ");
            });

            // the admin certificate (365 days) ends before the server's (397 days): leave it out from here on
            var serverAndCa = List.of(items.get(0), items.get(2));
            Finding soon = Findings.only(at(serverAndCa, serverEnd.minus(Duration.ofDays(10))), Severity.WARNING);
            assertThat(soon.message()).isEqualTo("server certificate expires on " + serverEnd + " (10 days left)");
            assertThat(soon.fix()).isEqualTo("issue a new one");

            Finding expired = Findings.only(at(serverAndCa, serverEnd.plus(Duration.ofDays(1))), Severity.CRITICAL);
            assertThat(expired.message()).isEqualTo("server certificate expired on " + serverEnd);
        }
    }

    @Test
    void expiredAdminCertificate_isOnlyAWarning() throws Exception {
        try (TestPki pki = TestPki.create()) {
            X509Certificate admin = pki.service.issueAdmin("bob", "auditor", "test").certificate();
            Instant end = admin.getNotAfter().toInstant();
            var items = List.of(new CertificateExpiryCheck.Item("admin certificate bob", admin, Severity.WARNING, "issue-admin"));
            List<Finding> f = at(items, end.plus(Duration.ofDays(1)));
            assertThat(f).singleElement().satisfies(w -> {
                assertThat(w.severity()).isEqualTo(Severity.WARNING);
                assertThat(w.message()).isEqualTo("admin certificate bob expired on " + end);
            });
        }
    }

    @Test
    void unreadable_isReported() {
        Finding bad = new Finding("certificates", Severity.WARNING, "tls.certificate: cannot read x", "restore it");
        assertThat(new CertificateExpiryCheck(List.of(), List.of(bad), Clock.systemUTC()).run()).containsExactly(bad);
    }
}
