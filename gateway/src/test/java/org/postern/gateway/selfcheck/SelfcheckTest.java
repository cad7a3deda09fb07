package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.gateway.GatewaySettings;
import org.postern.pki.testing.TestPki;

/** The checks as built from a gateway.yaml, and running them. */
class SelfcheckTest {
    @TempDir
    Path tmp;

    private static final ClockCheck.Probe SYNCHRONISED = new ClockCheck.Probe() {
        @Override
        public @Nullable String output(List<String> command) {
            return Map.of(ClockCheck.TIMEDATECTL, "yes\n").get(command);
        }

        @Override
        public boolean running(String name) {
            return false;
        }
    };

    @Test
    void aCheckThatThrows_isAWarning_andTheOthersStillRun() {
        Check broken = new Check() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public List<Finding> run() throws IOException {
                throw new IOException("cannot read /nowhere: permission denied");
            }
        };
        List<Finding> f = Selfcheck.run(List.of(broken, new ClockCheck(SYNCHRONISED)));
        assertThat(f).hasSize(2);
        assertThat(f.getFirst()).isEqualTo(new Finding("broken", Severity.WARNING,
                "the check could not run: cannot read /nowhere: permission denied",
                "fix what the message names and run postern selfcheck again"));
        assertThat(Selfcheck.worst(f)).isEqualTo(Severity.WARNING);
    }

    @Test
    void worst_ofNoFinding_isInfo() {
        assertThat(Selfcheck.worst(List.of())).isEqualTo(Severity.INFO);
        assertThat(Selfcheck.worst(List.of(Finding.info("a", "x"), new Finding("b", Severity.CRITICAL, "y", "z"))))
                .isEqualTo(Severity.CRITICAL);
    }

    @Test
    void adminCertificatesOfTheRegistry_nearTheirEnd_areWarnings() throws Exception {
        try (TestPki pki = TestPki.create()) {
            pki.crl.publish();
            X509Certificate admin = pki.service.issueAdmin("carol", "auditor", "test").certificate();
            Path config = Files.writeString(tmp.resolve("gateway.yaml"), "gateway:\n  id: gw-t\ndataDir: " + pki.dataDir + "\n");
            GatewaySettings settings = GatewaySettings.load(config);
            Instant end = admin.getNotAfter().toInstant();
            Clock nearEnd = Clock.fixed(end.minus(Duration.ofDays(5)), ZoneOffset.UTC);
            List<Check> checks = Selfcheck.checks(settings, nearEnd, SYNCHRONISED, p -> 1L << 40);
            assertThat(checks).extracting(Check::name).containsExactly("listeners", "policy", "charter", "access-rules", "permissions",
                    "ca-keys", "certificates", "crl", "audit-trail", "free-space", "clock");
            List<Finding> f = Selfcheck.run(checks);
            assertThat(f).filteredOn(x -> x.check().equals("certificates") && x.severity() == Severity.WARNING)
                    .extracting(Finding::message)
                    .anyMatch(m -> m.startsWith("admin certificate ") && m.contains("carol") && m.contains("(5 days left)"));
            // the CRL of a week was long past at the admin certificate's end
            assertThat(f).filteredOn(x -> x.check().equals("crl")).singleElement()
                    .extracting(Finding::severity).isEqualTo(Severity.CRITICAL);
            assertThat(Set.copyOf(f.stream().map(Finding::check).toList())).hasSize(11);
        }
    }
}
