package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Freshness of the CRL the gateway and {@code pki serve} publish ({@code DATA/ca/crl.der}): past its
 * nextUpdate, relying parties may reject it or treat revoked devices as unknown, so that is critical;
 * within the last quarter of its validity a warning (the re-signing that should have happened has not).
 */
public final class CrlCheck implements Check {
    static final String NAME = "crl";

    private final Path crlFile;
    private final Path dataDir;
    private final Clock clock;

    public CrlCheck(Path crlFile, Path dataDir, Clock clock) {
        this.crlFile = Objects.requireNonNull(crlFile, "crlFile");
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() throws IOException {
        String publish = "sign a new one: postern pki crl --dir " + dataDir + " (a running gateway or pki serve re-signs it"
                + " before nextUpdate; check that one runs)";
        if (!Files.isRegularFile(crlFile)) {
            return List.of(new Finding(NAME, Severity.WARNING, "no CRL at " + crlFile, publish));
        }
        X509CRL crl;
        try (InputStream in = Files.newInputStream(crlFile)) {
            crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(in);
        } catch (CRLException | CertificateException | ClassCastException e) {
            return List.of(new Finding(NAME, Severity.CRITICAL, crlFile + ": expected a DER X.509 CRL, found bytes that"
                    + " do not parse (" + e.getMessage() + ")", publish));
        }
        Instant now = clock.instant();
        if (crl.getNextUpdate() == null) {
            return List.of(new Finding(NAME, Severity.WARNING, crlFile + " has no nextUpdate: clients cannot tell when it"
                    + " is stale", publish));
        }
        Instant next = crl.getNextUpdate().toInstant();
        Instant issued = crl.getThisUpdate().toInstant();
        int revoked = crl.getRevokedCertificates() == null ? 0 : crl.getRevokedCertificates().size();
        if (now.isAfter(next)) {
            return List.of(new Finding(NAME, Severity.CRITICAL, "the CRL " + crlFile + " is stale: nextUpdate " + next
                    + " passed " + days(Duration.between(next, now)) + " ago", publish));
        }
        Duration validity = Duration.between(issued, next);
        Duration left = Duration.between(now, next);
        if (left.compareTo(validity.dividedBy(4)) < 0) {
            return List.of(new Finding(NAME, Severity.WARNING, "the CRL " + crlFile + " ends soon: nextUpdate " + next
                    + " (" + days(left) + " left of " + days(validity) + ")", publish));
        }
        return List.of(Finding.info(NAME, "the CRL " + crlFile + " is fresh until " + next + " (" + revoked
                + " revoked certificates)"));
    }

    static String days(Duration d) {
        return d.toDays() >= 1 ? d.toDays() + " days" : d.toHours() >= 1 ? d.toHours() + " hours" : d.toMinutes() + " minutes";
    }
}
