package org.postern.cli.pki;

import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.postern.cli.Exit;
import org.postern.pki.PkiService;
import org.postern.pki.PkiService.AdminCertificate;
import org.postern.pki.registry.RevocationReason;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern pki admin list|revoke}: the admin-console certificates {@code pki issue-admin} made. */
@Command(name = "admin", mixinStandardHelpOptions = true,
        description = "List and revoke admin-console certificates (issued by pki issue-admin).",
        subcommands = {AdminCommand.ListAdmins.class, AdminCommand.Revoke.class})
public final class AdminCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List every admin certificate: serial, name, role, not-after and status (good, expired, revoked).")
    static final class ListAdmins implements Callable<Integer> {
        @Mixin
        PkiOptions options;
        @Option(names = "--json", description = "JSON output.")
        boolean json;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            try (PkiContext ctx = PkiContext.open(options)) {
                Instant now = ctx.clock.instant();
                List<AdminCertificate> admins = ctx.service().adminCertificates();
                PrintWriter out = spec.commandLine().getOut();
                if (json) {
                    out.println(DeviceCommand.JSON.writeValueAsString(admins.stream().map(a -> toMap(a, now)).toList()));
                    return 0;
                }
                out.printf("%-34s %-20s %-15s %-21s %s%n", "SERIAL", "NAME", "ROLE", "NOT AFTER", "STATUS");
                for (AdminCertificate a : admins) {
                    out.printf("%-34s %-20s %-15s %-21s %s%n", a.record().serial().toString(16), a.name(), a.role(),
                            a.record().notAfter(), a.status(now));
                }
                return 0;
            }
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = {"Revoke admin certificates: every good one of NAME, or the one with --serial.",
                    "The gateway's admin listener refuses them at once; OCSP answers revoked; the CRL is re-signed.",
                    "Needs the CA passphrase (to sign the CRL)."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:revoked", "1:refused (no such admin certificate, already revoked)", "2:bad usage",
                    "3:the CA is missing or could not be unlocked", "4:the registry or audit log is unavailable"})
    static final class Revoke implements Callable<Integer> {
        @Mixin
        PkiOptions options;

        static final class Which {
            @Parameters(paramLabel = "NAME", description = "The admin's name (the certificate CN, as pki admin list shows it).")
            String name;
            @Option(names = "--serial", paramLabel = "HEX", description = "One certificate, by its serial (hex, as pki admin list shows it).")
            String serial;
        }

        @ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        @Option(names = "--reason", required = true, paramLabel = "R", description = "keyCompromise, lost, retired or superseded.")
        String reason;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            RevocationReason why;
            try {
                why = RevocationReason.fromOperator(reason);
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, "--reason: " + e.getMessage().replaceFirst("^revocation reason: ", ""));
            }
            BigInteger serial = which.serial == null ? null : parseSerial(which.serial);
            try (PkiContext ctx = PkiContext.open(options)) {
                Instant now = ctx.clock.instant();
                List<BigInteger> serials;
                if (serial != null) {
                    serials = List.of(serial);
                } else {
                    serials = ctx.service().adminCertificates().stream()
                            .filter(a -> a.name().equals(which.name) && !a.record().revoked())
                            .map(a -> a.record().serial()).toList();
                    if (serials.isEmpty()) {
                        throw new Exit(Exit.REFUSED, "no unrevoked admin certificate named \"" + which.name
                                + "\" (see postern pki admin list)");
                    }
                }
                ctx.ca(); // fail on a wrong passphrase before anything changes
                PrintWriter out = spec.commandLine().getOut();
                for (BigInteger s : serials) {
                    AdminCertificate a = ctx.service().revokeAdmin(s, why, PkiCommand.actor());
                    out.println("Revoked admin certificate " + s.toString(16) + " of " + a.name() + " (" + a.role() + "): "
                            + a.status(now) + ".");
                }
                out.println("CRL re-signed.");
                return 0;
            }
        }

        private static BigInteger parseSerial(String text) {
            if (!text.matches("(?i)[0-9a-f]{1,40}")) {
                throw new Exit(Exit.USAGE, "--serial: expected a hex serial like 5f3a9c (as pki admin list shows it), found \""
                        + text + "\"");
            }
            return new BigInteger(text, 16);
        }
    }

    static Map<String, Object> toMap(AdminCertificate a, Instant now) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("serial", a.record().serial().toString(16));
        m.put("name", a.name());
        m.put("role", a.role());
        m.put("subject", a.record().subject());
        m.put("notAfter", a.record().notAfter().toString());
        m.put("status", a.record().revoked() ? "revoked" : a.record().notAfter().isAfter(now) ? "good" : "expired");
        m.put("revokedAt", a.record().revokedAt() == null ? null : a.record().revokedAt().toString());
        m.put("revocationReason", a.record().revocationReason() == null ? null : a.record().revocationReason().name());
        return m;
    }
}
