package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.pki.testing.TestPki;

class CrlCheckTest {

    private static List<Finding> at(TestPki pki, Instant now) throws Exception {
        return new CrlCheck(pki.store.crlFile(), pki.dataDir, Clock.fixed(now, ZoneOffset.UTC)).run();
    }

    @Test
    void fresh_isInfo_stale_isCritical_endingSoon_isWarning() throws Exception {
        try (TestPki pki = TestPki.create()) {
            pki.crl.publish();
            Instant next;
            try (var in = Files.newInputStream(pki.store.crlFile())) {
                // as the file says it, in whole seconds
                next = ((X509CRL) CertificateFactory.getInstance("X.509").generateCRL(in)).getNextUpdate().toInstant();
            }
            assertThat(at(pki, pki.clock.instant())).singleElement().satisfies(f -> {
                assertThat(f.severity()).isEqualTo(Severity.INFO);
                assertThat(f.message()).isEqualTo("the CRL " + pki.store.crlFile() + " is fresh until " + next
                        + " (0 revoked certificates)");
            });
            Finding soon = Findings.only(at(pki, next.minus(Duration.ofHours(12))), Severity.WARNING);
            assertThat(soon.message()).startsWith("the CRL " + pki.store.crlFile() + " ends soon: nextUpdate " + next
                    + " (12 hours left of ");
            Finding stale = Findings.only(at(pki, next.plus(Duration.ofDays(2))), Severity.CRITICAL);
            assertThat(stale.message()).isEqualTo("the CRL " + pki.store.crlFile() + " is stale: nextUpdate " + next
                    + " passed 2 days ago");
            assertThat(stale.fix()).startsWith("sign a new one: postern pki crl --dir " + pki.dataDir);
        }
    }

    @Test
    void missing_isWarning_garbage_isCritical() throws Exception {
        try (TestPki pki = TestPki.create()) {
            Files.deleteIfExists(pki.store.crlFile());
            assertThat(Findings.only(at(pki, pki.clock.instant()), Severity.WARNING).message())
                    .isEqualTo("no CRL at " + pki.store.crlFile());
            Files.writeString(pki.store.crlFile(), "not a CRL");
            assertThat(Findings.only(at(pki, pki.clock.instant()), Severity.CRITICAL).message())
                    .startsWith(pki.store.crlFile() + ": expected a DER X.509 CRL, found bytes that do not parse");
        }
    }
}
