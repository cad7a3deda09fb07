package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.postern.config.PkiSettings;
import org.postern.config.gateway.GatewaySettings;
import org.postern.keys.Pem;
import org.postern.pki.ca.CaStore;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Registries;
import org.postern.pki.registry.Registry;

/**
 * The checks of one deployment, built from its {@code gateway.yaml}, and running them: a check that
 * fails to run is itself a warning (what could not be checked is not known to be fine).
 */
public final class Selfcheck {
    /** The PKI commands' own trail under the data directory: where {@code postern pki …} writes it (one constant for both). */
    public static final String PKI_TRAIL = PkiSettings.AUDIT_DIR;

    private Selfcheck() {
    }

    /** What {@code postern selfcheck} runs for {@code settings}, in report order; it opens the registry itself. */
    public static List<Check> checks(GatewaySettings settings, Clock clock, ClockCheck.Probe probe, FreeSpaceCheck.Space space) {
        return checks(settings, clock, probe, space, null);
    }

    /**
     * The same checks, reading admin certificates from {@code registry} when given (a running gateway's,
     * left open) instead of opening {@code registry.url} for the run.
     */
    public static List<Check> checks(GatewaySettings settings, Clock clock, ClockCheck.Probe probe, FreeSpaceCheck.Space space,
                                     @Nullable Registry registry) {
        Path data = settings.dataDir();
        CaStore store = new CaStore(data);
        GatewaySettings.Audit audit = settings.audit();
        List<Path> secrets = new ArrayList<>();
        if (settings.tls().key() != null) {
            secrets.add(settings.tls().key());
        }
        secrets.add(settings.ssh().hostKey());
        if (audit.siem() != null && audit.siem().clientKey() != null) {
            secrets.add(audit.siem().clientKey());
        }
        List<CertificateExpiryCheck.Item> certs = new ArrayList<>();
        List<Finding> unreadable = new ArrayList<>();
        collectCertificates(settings, store, clock, registry, certs, unreadable);
        return List.of(
                new ListenerCheck(settings.listeners(), settings.tls(), audit.siem() != null && audit.siem().allowTls12()),
                new PolicyModeCheck(settings.posture().mode(), audit.failMode()),
                new CharterCheck(settings.charter()),
                new AccessRulesCheck(settings.access()),
                new FilePermissionCheck(data, secrets, audit.dir()),
                new CaKeyCheck(data),
                new CertificateExpiryCheck(certs, unreadable, clock),
                new CrlCheck(store.crlFile(), data, clock),
                new AuditTrailCheck(List.of(new AuditTrailCheck.Trail(audit.dir(), true),
                        new AuditTrailCheck.Trail(data.resolve(PKI_TRAIL), false)), data.resolve("audit.pub"),
                        audit.siem() != null ? audit.siem().address().toString() : null,
                        audit.siem() != null ? audit.siem().cursor() : null),
                new FreeSpaceCheck(audit.dir(), audit.minFree(), space),
                new ClockCheck(probe));
    }

    /** Runs every check; findings in check order. */
    public static List<Finding> run(List<Check> checks) {
        List<Finding> out = new ArrayList<>();
        for (Check c : checks) {
            try {
                List<Finding> found = c.run();
                if (found.isEmpty()) {
                    throw new IllegalStateException("check " + c.name() + " said nothing");
                }
                out.addAll(found);
            } catch (IOException | RuntimeException e) {
                out.add(new Finding(c.name(), Severity.WARNING, "the check could not run: " + e.getMessage(),
                        "fix what the message names and run postern selfcheck again"));
            }
        }
        return out;
    }

    /** The worst severity among {@code findings}; {@link Severity#INFO} for none. */
    public static Severity worst(List<Finding> findings) {
        return findings.stream().map(Finding::severity).max(Comparator.naturalOrder()).orElse(Severity.INFO);
    }

    /** CA, OCSP responder, server and admin certificates; what cannot be read becomes a warning. */
    private static void collectCertificates(GatewaySettings settings, CaStore store, Clock clock, @Nullable Registry open,
                                            List<CertificateExpiryCheck.Item> out, List<Finding> unreadable) {
        Path data = settings.dataDir();
        String renewCa = "renew the CA before it ends (docs/pki.md); every certificate it issued ends with it";
        certificateFile(store.dir().resolve("root.crt"), "root CA", Severity.CRITICAL, renewCa, out, unreadable);
        certificateFile(store.dir().resolve("issuing.crt"), "issuing CA", Severity.CRITICAL, renewCa, out, unreadable);
        int before = out.size();
        certificateFile(store.dir().resolve("ocsp.crt"), "OCSP responder", Severity.WARNING,
                "start the gateway or pki serve: it issues a new responder certificate when a third of the old one is left",
                out, unreadable);
        if (out.size() > before) {
            // renewed on its own with a third of its life left (CaStore): only later than that is it worth a warning
            CertificateExpiryCheck.Item ocsp = out.removeLast();
            X509Certificate c = ocsp.certificate();
            java.time.Duration life = java.time.Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant());
            out.add(new CertificateExpiryCheck.Item(ocsp.label(), c, ocsp.whenExpired(), ocsp.renew(), life.dividedBy(3)));
        }
        if (settings.tls().certificate() != null) {
            certificateFile(settings.tls().certificate(), "tls.certificate", Severity.CRITICAL,
                    "install a new server certificate at tls.certificate and tls.key (postern pki issue-server), then systemctl reload",
                    out, unreadable);
        } else if (Files.isDirectory(data.resolve("server"))) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(data.resolve("server"), "*.crt")) {
                for (Path p : s) {
                    certificateFile(p, "self-issued server certificate", Severity.CRITICAL,
                            "restart the gateway: it issues itself a new one when less than 30 days are left", out, unreadable);
                }
            } catch (IOException e) {
                unreadable.add(new Finding(CertificateExpiryCheck.NAME, Severity.WARNING, "cannot list " + data.resolve("server")
                        + ": " + e.getMessage(), "make it readable by the gateway's user"));
            }
        }
        if (open != null) {
            try {
                adminCertificates(open, out);
            } catch (RuntimeException e) {
                unreadable.add(new Finding(CertificateExpiryCheck.NAME, Severity.WARNING, "cannot read the admin certificates in"
                        + " the registry (" + settings.registry().url() + "): " + e.getMessage(),
                        "check registry.url and its credentials"));
            }
            return;
        }
        boolean sqlite = settings.registry().postgres() == null;
        if (sqlite && !Files.exists(data.resolve("registry.db"))) {
            return; // opening would create an empty one
        }
        try (Registry registry = Registries.open(settings.registry(), data, clock)) {
            adminCertificates(registry, out);
        } catch (RuntimeException e) {
            unreadable.add(new Finding(CertificateExpiryCheck.NAME, Severity.WARNING, "cannot read the admin certificates in"
                    + " the registry (" + settings.registry().url() + "): " + e.getMessage(),
                    "check registry.url and its credentials"));
        }
    }

    private static void adminCertificates(Registry registry, List<CertificateExpiryCheck.Item> out) {
        for (CertificateRecord r : registry.certificates(CertificateRecord.Kind.admin)) {
            if (!r.revoked()) {
                out.add(new CertificateExpiryCheck.Item("admin certificate " + r.subject() + " (serial "
                        + r.serial().toString(16) + ")", Pem.certificate(r.der()), Severity.WARNING,
                        "issue a new one (postern pki issue-admin) and revoke the old (postern pki admin revoke)"));
            }
        }
    }

    private static void certificateFile(Path file, String what, Severity whenExpired, String renew,
                                        List<CertificateExpiryCheck.Item> out, List<Finding> unreadable) {
        if (!Files.exists(file)) {
            if (!what.equals("OCSP responder")) {
                unreadable.add(new Finding(CertificateExpiryCheck.NAME, Severity.WARNING, what + ": no certificate at " + file,
                        "restore it, or create the PKI with postern pki init"));
            }
            return;
        }
        try {
            X509Certificate c = Pem.readCertificate(file);
            out.add(new CertificateExpiryCheck.Item(what + " (" + file + ")", c, whenExpired, renew));
        } catch (IOException | RuntimeException e) {
            unreadable.add(new Finding(CertificateExpiryCheck.NAME, Severity.WARNING, what + ": cannot read " + file + ": "
                    + e.getMessage(), "restore it from a backup"));
        }
    }
}
