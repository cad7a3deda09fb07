package org.postern.cli.pki;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

import org.bouncycastle.cert.X509CRLHolder;
import org.postern.audit.AuditEvent;
import org.postern.cli.Exit;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.keys.KeyFiles;
import org.postern.keys.SecureFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.ssh.SshUserCa;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern pki}: the CA, the device registry and the EST/CRL/OCSP server. */
@Command(name = "pki", description = "Run the device CA: create it, register and revoke laptops, issue certificates, serve EST, CRL and OCSP.",
        mixinStandardHelpOptions = true,
        subcommands = {PkiCommand.Init.class, DeviceCommand.class, PkiCommand.IssueServer.class, PkiCommand.IssueAdmin.class, AdminCommand.class,
                PkiCommand.Crl.class, ServeCommand.class, SshCaPubkeyCommand.class})
public final class PkiCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = {"Create the root and issuing CA (ECDSA P-256), the OCSP responder and the SSH user CA in DATA/ca.",
                    "Keys are encrypted with the passphrase from $POSTERN_CA_PASSPHRASE or --passphrase-file,",
                    "or generated inside a PKCS#11 token with --pkcs11 (the PIN then comes from the same place).",
                    "Refuses to overwrite an existing CA."})
    static final class Init implements java.util.concurrent.Callable<Integer> {
        @Mixin
        PkiOptions options;

        @Option(names = "--name", paramLabel = "NAME", defaultValue = "Postern", description = "CA name, used in the CA subjects (default: ${DEFAULT-VALUE}).")
        String name;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Path dir = PkiContext.dataDir(options);
            PkiSettings settings = options.config != null ? PkiSettings.load(options.config) : PkiSettings.defaults();
            CaStore store = new CaStore(dir);
            if (store.exists()) {
                throw new Exit(Exit.REFUSED, "a CA already exists in " + store.dir() + "; refusing to overwrite it");
            }
            Clock clock = Clock.systemUTC();
            CertificateAuthority ca;
            try {
                KeyProtection protection = PkiContext.protection(options, null);
                ca = store.init(name, protection, clock.instant(), new SecureRandom(),
                        settings.certificates().ocspResponderLifetime());
                // the SSH user CA now rather than at a gateway's first start, so that copies of this
                // directory for several gateways share it (docs/operations.md)
                SshUserCa.loadOrCreate(dir, protection, new SecureRandom());
            } catch (KeyFiles.WrongPassphraseException e) {
                throw new Exit(Exit.CA, e.getMessage());
            } catch (IOException e) {
                throw new Exit(Exit.CA, "cannot create the CA: " + e.getMessage());
            }
            try (var registry = org.postern.pki.registry.Registries.open(settings.registry(), dir, clock);
                 var audit = PkiContext.auditTrail(dir, new SecureRandom())) {
                audit.record(AuditEvent.of("pki.init", clock.instant()).with("ca", name).with("rootSha256", ca.rootSha256())
                        .with("keys", options.pkcs11 != null ? "pkcs11" : "file").with("actor", actor()).build());
                new CrlPublisher(ca, registry, store.crlFile(), settings.revocation().crlValidity(), clock).publish();
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("Created CA \"" + name + "\" in " + store.dir());
            out.println("  root:    " + ca.root().getSubjectX500Principal().getName());
            out.println("  issuing: " + ca.issuing().certificate().getSubjectX500Principal().getName());
            out.println("  root SHA-256 (agents pin this with --ca-sha256): " + ca.rootSha256());
            out.println("  chain: " + store.chainFile());
            return 0;
        }
    }

    @Command(name = "issue-server", mixinStandardHelpOptions = true,
            description = "Issue a TLS server certificate (serverAuth) for the gateway; writes NAME.crt (with chain) and NAME.key (0600).")
    static final class IssueServer implements java.util.concurrent.Callable<Integer> {
        @Mixin
        PkiOptions options;

        @Option(names = "--dns", paramLabel = "NAME", description = "DNS name (repeatable).")
        List<String> dns = new ArrayList<>();

        @Option(names = "--ip", paramLabel = "ADDR", description = "IP address (repeatable).")
        List<String> ips = new ArrayList<>();

        @Option(names = "--out", paramLabel = "DIR", description = "Where to write the files (default: DATA/server).")
        Path out;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            try (PkiContext ctx = PkiContext.open(options)) {
                PkiService.Issued issued = ctx.service().issueServer(dns, ips, actor());
                String base = !dns.isEmpty() ? dns.getFirst() : ips.getFirst().replace(':', '_');
                write(spec, ctx, out != null ? out : ctx.dir().resolve("server"), base, issued);
                return 0;
            }
        }
    }

    @Command(name = "issue-admin", mixinStandardHelpOptions = true,
            description = {"Issue an admin-console client certificate with a role; writes NAME.crt (with chain) and NAME.key (0600).",
                    "Refuses to overwrite existing files: revoke the old certificate (pki admin revoke NAME) and move them away first.",
                    "With --p12 FILE it also writes the certificate, its key and the CA chain as one PKCS#12 file (0600) that a",
                    "browser imports (Firefox; Chromium via pk12util), encrypted with PBES2 (AES-256, HMAC-SHA256). Its passphrase:",
                    "the first line of --p12-passphrase-file FILE (mode 600), else $POSTERN_P12_PASSPHRASE; at least 12 characters;",
                    "never printed.",
                    "Exit 1: NAME.crt, NAME.key or the --p12 FILE already exists (nothing is issued). Exit 2: bad --name or --role;",
                    "--p12 without a passphrase, a passphrase shorter than 12 characters, a passphrase file others can read,",
                    "or a --p12 FILE in a directory that does not exist (nothing is issued). Exit 3: the CA cannot be unlocked."})
    static final class IssueAdmin implements java.util.concurrent.Callable<Integer> {
        @Mixin
        PkiOptions options;

        @Option(names = "--name", required = true, paramLabel = "N", description = "Admin's name (certificate CN).")
        String name;

        @Option(names = "--role", required = true, paramLabel = "ROLE", description = "security-admin or auditor.")
        String role;

        @Option(names = "--out", paramLabel = "DIR", description = "Where to write the files (default: DATA/admin).")
        Path out;

        @Option(names = "--p12", paramLabel = "FILE",
                description = "Also write certificate, key and CA chain as a PKCS#12 file (0600) for a browser to import.")
        Path p12;

        @Option(names = "--p12-passphrase-file", paramLabel = "FILE",
                description = "File (mode 600) whose first line is the PKCS#12 passphrase. Default: $POSTERN_P12_PASSPHRASE.")
        Path p12PassphraseFile;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            PkiService.checkAdmin(name, role);
            if (p12 == null && p12PassphraseFile != null) {
                throw new Exit(Exit.USAGE, "--p12-passphrase-file: expected it with --p12 FILE, found it alone");
            }
            // every check of the PKCS#12 target and passphrase before anything is issued
            Secret p12Passphrase = null;
            if (p12 != null) {
                Pkcs12Export.checkTarget(p12);
                p12Passphrase = Pkcs12Export.passphrase(p12PassphraseFile, System.getenv());
            }
            try (PkiContext ctx = PkiContext.open(options)) {
                Path dir = out != null ? out : ctx.dir().resolve("admin");
                for (Path existing : List.of(dir.resolve(name + ".crt"), dir.resolve(name + ".key"))) {
                    if (Files.exists(existing, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        throw new Exit(Exit.REFUSED, existing + " already exists; refusing to overwrite it (the certificate in it"
                                + " stays valid until revoked: postern pki admin revoke " + name + " --reason superseded,"
                                + " then move the files away and issue again)");
                    }
                }
                PkiService.Issued issued = ctx.service().issueAdmin(name, role, actor());
                write(spec, ctx, dir, name, issued);
                if (p12 != null) {
                    // the name a browser lists it under (the JDK writes it in lower case)
                    Pkcs12Export.write(p12, name + " (postern " + role + ")", issued.keys().getPrivate(),
                            issued.certificate(), ctx.ca().chain(), p12Passphrase, new SecureRandom());
                    spec.commandLine().getOut().println("  p12:     " + p12 + " (0600, PKCS#12: AES-256, HMAC-SHA256; passphrase from "
                            + (p12PassphraseFile != null ? p12PassphraseFile : "$" + Pkcs12Export.PASSPHRASE_ENV) + ")");
                }
                return 0;
            }
        }
    }

    @Command(name = "crl", mixinStandardHelpOptions = true,
            description = "Show the current CRL (number, dates, revoked serials); --sign re-signs it first; --out writes the DER.")
    static final class Crl implements java.util.concurrent.Callable<Integer> {
        @Mixin
        PkiOptions options;

        @Option(names = "--sign", description = "Re-sign the CRL now (needs the CA passphrase).")
        boolean sign;

        @Option(names = "--out", paramLabel = "FILE", description = "Also write the DER CRL to FILE.")
        Path out;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            try (PkiContext ctx = PkiContext.open(options)) {
                byte[] der = sign ? ctx.crl().publish().der() : CrlPublisher.read(ctx.store.crlFile());
                X509CRLHolder crl = new X509CRLHolder(der);
                PrintWriter o = spec.commandLine().getOut();
                o.println("CRL of " + crl.getIssuer());
                o.println("  this update: " + crl.getThisUpdate().toInstant());
                o.println("  next update: " + crl.getNextUpdate().toInstant());
                o.println("  revoked:     " + crl.getRevokedCertificates().size());
                for (Object entry : crl.getRevokedCertificates()) {
                    var e = (org.bouncycastle.cert.X509CRLEntryHolder) entry;
                    o.println("    " + e.getSerialNumber().toString(16) + "  " + e.getRevocationDate().toInstant());
                }
                if (out != null) {
                    SecureFiles.replace(out, der, false);
                    o.println("  written to " + out);
                }
                return 0;
            }
        }
    }

    static void write(CommandSpec spec, PkiContext ctx, Path dir, String base, PkiService.Issued issued) throws IOException {
        PkiService.Issued.Files files = issued.writeTo(dir, base, ctx.ca().chain());
        PrintWriter o = spec.commandLine().getOut();
        o.println("Issued " + issued.certificate().getSubjectX500Principal().getName());
        o.println("  serial:  " + issued.certificate().getSerialNumber().toString(16));
        o.println("  expires: " + issued.certificate().getNotAfter().toInstant());
        o.println("  cert:    " + files.certificate());
        o.println("  key:     " + files.key() + " (0600)");
    }

    static String actor() {
        return "cli:" + System.getProperty("user.name", "unknown");
    }
}
