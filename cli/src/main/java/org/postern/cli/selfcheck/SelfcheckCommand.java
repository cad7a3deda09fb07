package org.postern.cli.selfcheck;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.postern.audit.text.TerminalText;
import org.postern.cli.Exit;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.selfcheck.Check;
import org.postern.gateway.selfcheck.ClockCheck;
import org.postern.gateway.selfcheck.Finding;
import org.postern.gateway.selfcheck.FreeSpaceCheck;
import org.postern.gateway.selfcheck.Selfcheck;
import org.postern.gateway.selfcheck.Severity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code postern selfcheck [--config gateway.yaml] [--json]}: audit a deployment before opening it. */
@Command(name = "selfcheck", mixinStandardHelpOptions = true,
        description = {"Audit this deployment before opening the gateway: one line per finding with its severity and the fix.",
                "Reads gateway.yaml and what it names (data directory, CA, audit trails, registry) and the host (file modes,"
                        + " clock synchronisation, free space); changes nothing and needs no passphrase.",
                "Checks: listeners and TLS versions, posture mode and audit.failMode, access rules, file permissions,"
                        + " CA key protection, certificates within 30 days of their end, CRL freshness, audit trail"
                        + " verification and SIEM forwarding, free space against audit.minFree, clock synchronisation.",
                "Severities: info (how it is), warning (weaker than it should be: fix or accept knowingly),"
                        + " critical (do not open the gateway like this). See docs/selfcheck.md."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:no finding above info", "1:the worst finding is a warning",
                "2:bad usage or configuration (gateway.yaml missing or invalid; the message names the key)",
                "8:at least one critical finding"})
public final class SelfcheckCommand implements Callable<Integer> {
    /** Where an installed system keeps its settings. */
    static final Path DEFAULT_CONFIG = Path.of("/etc/postern/gateway.yaml");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--config", paramLabel = "gateway.yaml", defaultValue = "/etc/postern/gateway.yaml",
            description = "Gateway settings to check (default: ${DEFAULT-VALUE}).")
    Path config = DEFAULT_CONFIG;

    @Option(names = "--json", description = "Print the findings as one JSON object instead of lines.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        GatewaySettings settings = GatewaySettings.load(config);
        List<Check> checks = Selfcheck.checks(settings, Clock.systemUTC(), ClockCheck.hostProbe(), FreeSpaceCheck.fileStore());
        List<Finding> findings = Selfcheck.run(checks);
        Severity worst = Selfcheck.worst(findings);
        int code = exitCode(worst);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(json(settings, findings, worst, code));
        } else {
            print(out, settings, findings, code);
        }
        out.flush();
        return code;
    }

    /** 0 for info only, 1 for a warning, {@link Exit#CRITICAL} for a critical finding. */
    public static int exitCode(Severity worst) {
        return switch (worst) {
            case INFO -> 0;
            case WARNING -> 1;
            case CRITICAL -> Exit.CRITICAL;
        };
    }

    private void print(PrintWriter out, GatewaySettings settings, List<Finding> findings, int code) {
        out.println("postern selfcheck of gateway " + settings.id() + " (" + TerminalText.escape(config.toString()) + ")");
        // the worst first; within one severity, in the order the checks ran
        List<Finding> sorted = findings.stream().sorted(Comparator.comparing(Finding::severity).reversed()).toList();
        for (Finding f : sorted) {
            String line = String.format("%-8s %-13s %s", f.severity().spelling().toUpperCase(java.util.Locale.ROOT), f.check(),
                    f.message());
            if (f.severity() != Severity.INFO) {
                line += " -- fix: " + f.fix();
            }
            out.println(TerminalText.escape(line));
        }
        out.println(count(findings, Severity.CRITICAL) + " critical, " + count(findings, Severity.WARNING) + " warning, "
                + count(findings, Severity.INFO) + " info; exit " + code);
    }

    private static long count(List<Finding> findings, Severity s) {
        return findings.stream().filter(f -> f.severity() == s).count();
    }

    private String json(GatewaySettings settings, List<Finding> findings, Severity worst, int code) {
        ObjectNode root = JSON.createObjectNode();
        root.put("gateway", settings.id());
        root.put("config", config.toString());
        root.put("worst", worst.spelling());
        root.put("exitCode", code);
        ObjectNode counts = root.putObject("counts");
        for (Severity s : Severity.values()) {
            counts.put(s.spelling(), count(findings, s));
        }
        ArrayNode list = root.putArray("findings");
        for (Finding f : findings) {
            ObjectNode n = list.addObject();
            n.put("check", f.check());
            n.put("severity", f.severity().spelling());
            n.put("message", f.message());
            n.put("fix", f.fix());
        }
        return root.toString();
    }
}
