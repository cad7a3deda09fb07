package org.postern.cli.pki;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.jspecify.annotations.Nullable;
import org.postern.cli.Exit;
import org.postern.config.Durations;
import org.postern.pki.PkiService;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.RevocationReason;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern pki device …}: register, list, show, revoke, suspend and resume laptops. */
@Command(name = "device", mixinStandardHelpOptions = true, description = "Register laptops and manage their status.",
        subcommands = {DeviceCommand.Add.class, DeviceCommand.ListDevices.class, DeviceCommand.Show.class, DeviceCommand.Token.class,
                DeviceCommand.Update.class, DeviceCommand.Revoke.class, DeviceCommand.Suspend.class, DeviceCommand.Resume.class})
public final class DeviceCommand implements Runnable {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = {"Register a laptop and print its one-time enrollment token (shown once, stored hashed).",
                    "The laptop enrolls with: postern-agent enroll --gateway URL --token TOKEN --ca-sha256 FP"})
    static final class Add implements Callable<Integer> {
        @Mixin
        PkiOptions options;
        @Parameters(paramLabel = "ID", description = "Device id: letters, digits, '.', '_', '-' (becomes the certificate CN).")
        String id;
        @Option(names = "--owner", required = true, paramLabel = "USER", description = "The employee the laptop is issued to.")
        String owner;
        @Option(names = "--groups", split = ",", paramLabel = "G1,G2", description = "Access-policy groups of the owner.")
        List<String> groups = new ArrayList<>();
        @Option(names = "--serial", paramLabel = "HW", description = "Hardware serial number, for inventory.")
        String serial;
        @Option(names = "--token-ttl", paramLabel = "DURATION", description = "Token lifetime, like 24h or 30m (default: enrollment.tokenTtl, 24h).")
        String tokenTtl;
        @Option(names = "--json", description = "Print {\"device\",\"token\",\"expiresAt\"} as JSON.")
        boolean json;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Duration ttl = parseTtl(tokenTtl);
            try (PkiContext ctx = PkiContext.open(options)) {
                PkiService.NewDevice d = ctx.service().addDevice(id, owner, groups, serial, ttl, PkiCommand.actor());
                printToken(spec, json, d);
                return 0;
            }
        }
    }

    @Command(name = "token", mixinStandardHelpOptions = true,
            description = "Issue a fresh one-time enrollment token for a registered device (the first expired, or the laptop was reinstalled).")
    static final class Token implements Callable<Integer> {
        @Mixin
        PkiOptions options;
        @Parameters(paramLabel = "ID")
        String id;
        @Option(names = "--token-ttl", paramLabel = "DURATION", description = "Token lifetime (default 24h).")
        String tokenTtl;
        @Option(names = "--json", description = "JSON output.")
        boolean json;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Duration ttl = parseTtl(tokenTtl);
            try (PkiContext ctx = PkiContext.open(options)) {
                printToken(spec, json, ctx.service().newToken(id, ttl, PkiCommand.actor()));
                return 0;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List registered devices.")
    static final class ListDevices implements Callable<Integer> {
        @Mixin
        PkiOptions options;
        @Option(names = "--json", description = "JSON output.")
        boolean json;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            try (PkiContext ctx = PkiContext.open(options)) {
                List<Device> devices = ctx.service().registry().devices();
                PrintWriter out = spec.commandLine().getOut();
                if (json) {
                    out.println(JSON.writeValueAsString(devices.stream().map(DeviceCommand::toMap).toList()));
                    return 0;
                }
                out.printf("%-24s %-16s %-10s %-24s %s%n", "DEVICE", "OWNER", "STATUS", "ENROLLED", "GROUPS");
                for (Device d : devices) {
                    out.printf("%-24s %-16s %-10s %-24s %s%n", d.id(), d.owner(), d.status().wireName(),
                            d.enrolledAt() == null ? "-" : d.enrolledAt().toString(), String.join(",", d.groups()));
                }
                return 0;
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one device, its certificates and the remote-work charter version it accepted last.")
    static final class Show implements Callable<Integer> {
        @Mixin
        PkiOptions options;
        @Parameters(paramLabel = "ID")
        String id;
        @Option(names = "--json", description = "JSON output.")
        boolean json;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            try (PkiContext ctx = PkiContext.open(options)) {
                Device d = ctx.service().registry().device(id)
                        .orElseThrow(() -> new Exit(Exit.REFUSED, "no device " + id + " in the registry (see postern pki device list)"));
                List<CertificateRecord> certs = ctx.service().registry().certificatesOf(id);
                Map<String, Object> m = toMap(d);
                // the remote-work charter this device's owner accepted last (the gateway requires its current version)
                var charter = ctx.service().registry().charterAcceptance(id).orElse(null);
                Map<String, Object> c = null;
                if (charter != null) {
                    c = new LinkedHashMap<>();
                    c.put("version", charter.version());
                    c.put("sha256", charter.sha256());
                    c.put("acceptedAt", charter.acceptedAt().toString());
                    c.put("by", charter.owner());
                }
                m.put("charterAccepted", json || c == null ? c : "version " + charter.version() + " at " + charter.acceptedAt()
                        + " by " + charter.owner() + (charter.owner().equals(d.owner()) ? "" : " (a previous owner: does not count)")
                        + " (text sha256 " + charter.sha256() + ")");
                m.put("certificates", certs.stream().map(DeviceCommand::toMap).toList());
                spec.commandLine().getOut().println(json ? JSON.writeValueAsString(m) : text(m));
                return 0;
            }
        }
    }

    @Command(name = "update", mixinStandardHelpOptions = true,
            description = {"Change a device's owner, its groups or both (audited as pki.device.update with the old and new values).",
                    "The gateway uses them from the device's next tunnel on; a revoked device cannot be changed."})
    static final class Update implements Callable<Integer> {
        @Mixin
        PkiOptions options;
        @Parameters(paramLabel = "ID")
        String id;
        @Option(names = "--owner", paramLabel = "USER", description = "The new owner.")
        String owner;
        @Option(names = "--groups", paramLabel = "G1,G2", description = "The new groups, replacing the old ones (\"\" for none).")
        String groups;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            List<String> newGroups = groups == null ? null
                    : groups.isEmpty() ? List.of() : List.of(groups.split(",", -1));
            try (PkiContext ctx = PkiContext.open(options)) {
                Device before = ctx.service().registry().device(Device.checkId(id))
                        .orElseThrow(() -> new Exit(Exit.REFUSED, "no device " + id + " in the registry (see postern pki device list)"));
                Device after = ctx.service().updateDevice(id, owner, newGroups, PkiCommand.actor());
                spec.commandLine().getOut().println("Updated " + after.id() + ": owner " + change(before.owner(), after.owner())
                        + ", groups " + change(String.join(",", before.groups()), String.join(",", after.groups())) + ".");
                return 0;
            }
        }

        private static String change(String before, String after) {
            String b = before.isEmpty() ? "(none)" : before;
            String a = after.isEmpty() ? "(none)" : after;
            return b.equals(a) ? a + " (unchanged)" : b + " -> " + a;
        }
    }

    /** Revoke, suspend and resume: unlock the CA (the CRL is re-signed), change the status, say so. */
    abstract static class StatusChange implements Callable<Integer> {
        @Mixin
        PkiOptions options;
        @Parameters(paramLabel = "ID")
        String id;
        @Spec
        CommandSpec spec;

        abstract String apply(PkiService service, String actor);

        @Override
        public Integer call() throws IOException {
            try (PkiContext ctx = PkiContext.open(options)) {
                ctx.ca(); // fail on a wrong passphrase before anything changes
                spec.commandLine().getOut().println(apply(ctx.service(), PkiCommand.actor()));
                return 0;
            }
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = {"Revoke a device for good: its certificates are revoked, its tokens voided, the CRL re-signed.",
                    "Needs the CA passphrase (to sign the CRL)."})
    static final class Revoke extends StatusChange {
        @Option(names = "--reason", required = true, paramLabel = "R", description = "keyCompromise, lost, retired or superseded.")
        String reason;

        @Override
        public Integer call() throws IOException {
            try {
                RevocationReason.fromOperator(reason);
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, "--reason: " + e.getMessage().replaceFirst("^revocation reason: ", ""));
            }
            return super.call();
        }

        @Override
        String apply(PkiService service, String actor) {
            Device d = service.revoke(id, RevocationReason.fromOperator(reason), actor);
            return "Revoked " + d.id() + " (" + reason + "); CRL re-signed.";
        }
    }

    @Command(name = "suspend", mixinStandardHelpOptions = true,
            description = "Suspend a device: its certificates go on hold (CRL reason certificateHold) until resumed. Needs the CA passphrase.")
    static final class Suspend extends StatusChange {
        @Override
        String apply(PkiService service, String actor) {
            return "Suspended " + service.suspend(id, actor).id() + "; CRL re-signed.";
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a suspended device. Needs the CA passphrase.")
    static final class Resume extends StatusChange {
        @Override
        String apply(PkiService service, String actor) {
            Device d = service.resume(id, actor);
            return "Resumed " + d.id() + " (now " + d.status().wireName() + "); CRL re-signed.";
        }
    }

    static @Nullable Duration parseTtl(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new Exit(Exit.USAGE, "--token-ttl: expected a duration like 24h or 30m, found \"" + text + "\"");
        }
    }

    static void printToken(CommandSpec spec, boolean json, PkiService.NewDevice d) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("device", d.device().id());
            m.put("token", d.token().reveal());
            m.put("expiresAt", d.expiresAt().toString());
            out.println(JSON.writeValueAsString(m));
        } else {
            out.println("Device " + d.device().id() + " (owner " + d.device().owner() + ") is registered, pending enrollment.");
            out.println("One-time enrollment token (shown only now, valid until " + d.expiresAt() + "):");
            out.println(d.token().reveal());
        }
    }

    static Map<String, Object> toMap(Device d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", d.id());
        m.put("owner", d.owner());
        m.put("groups", d.groups());
        m.put("status", d.status().wireName());
        m.put("hardwareSerial", d.hardwareSerial());
        m.put("createdAt", String.valueOf(d.createdAt()));
        m.put("enrolledAt", d.enrolledAt() == null ? null : d.enrolledAt().toString());
        m.put("lastSeen", d.lastSeen() == null ? null : d.lastSeen().toString());
        m.put("lastPosture", d.lastPosture());
        return m;
    }

    static Map<String, Object> toMap(CertificateRecord c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("serial", c.serial().toString(16));
        m.put("sha256", c.sha256());
        m.put("notBefore", c.notBefore().toString());
        m.put("notAfter", c.notAfter().toString());
        m.put("revokedAt", c.revokedAt() == null ? null : c.revokedAt().toString());
        m.put("revocationReason", c.revocationReason() == null ? null : c.revocationReason().name());
        return m;
    }

    @SuppressWarnings("unchecked")
    static String text(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> {
            if (v instanceof List<?> l && !l.isEmpty() && l.getFirst() instanceof Map) {
                sb.append(k).append(":\n");
                for (Object o : l) {
                    ((Map<String, Object>) o).forEach((k2, v2) -> sb.append("  ").append(k2).append(": ").append(v2).append('\n'));
                    sb.append('\n');
                }
            } else {
                sb.append(k).append(": ").append(v instanceof List<?> l ? String.join(",", (List<String>) l) : v).append('\n');
            }
        });
        return sb.toString().stripTrailing();
    }
}
