package org.postern.cli.audit;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.postern.audit.export.CsvFormat;
import org.postern.audit.query.Times;
import org.postern.audit.report.RemoteWorkReport;
import org.postern.cli.Exit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern audit report}: remote-work indicators over a period, as text tables or one CSV. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Remote-work indicators over a period (days in UTC): sessions and connected hours per user and day,"
                + " denials by reason, the fleet's compliance rate, enrolled devices not seen.",
                "Several trails (one per gateway) are merged by time and summed; when the records come from more than one gateway,",
                "a table per gateway (sessions, hours, denials, posture decisions) and its total follow.",
                "Give --file DATA/audit/pki (the PKI trail) too so that enrollments recorded by the PKI count."})
final class ReportCommand implements Callable<Integer> {
    static final String CSV_HEADER_COLUMNS = "metric,day,user,device,type,reason,value,gateway";

    @Parameters(arity = "0..*", paramLabel = "DIR", description = {"An audit trail directory (segment-NNNNNN.jsonl files).",
            "Several (one per gateway) are merged by time."})
    List<Path> dirs = new ArrayList<>();
    @Option(names = "--file", paramLabel = "FILE", description = "Also read another trail directory, like the PKI's DATA/audit/pki, or a JSON-lines file without chain, like an old DATA/audit/pki-audit.jsonl (repeatable; merged by time with the rest).")
    List<Path> files = new ArrayList<>();
    @Option(names = "--since", required = true, paramLabel = "TIME", description = "Start of the period (inclusive): 2026-11-01, -7d, an ISO instant.")
    String since;
    @Option(names = "--until", required = true, paramLabel = "TIME", description = "End of the period (exclusive; a date includes its whole day).")
    String until;
    @Option(names = "--csv", description = "One CSV table (metric,day,user,device,type,reason,value,gateway; UTF-8 with BOM) instead of text.")
    boolean csv;
    @ParentCommand
    AuditCommand parent;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Instant from = Times.since("--since", since, parent.clock());
        Instant to = Times.until("--until", until, parent.clock());
        if (!from.isBefore(to)) {
            throw new Exit(Exit.USAGE, "--since " + from + " is not before --until " + to + ": expected a non-empty period");
        }
        RemoteWorkReport report = new RemoteWorkReport(from, to);
        AuditCommand.trails(dirs, files, spec.commandLine().getErr()).forEach(report::accept);
        report.finish();
        PrintWriter out = spec.commandLine().getOut();
        if (csv) {
            printCsv(out, report);
        } else {
            printText(out, report);
        }
        out.flush();
        return 0;
    }

    private static void printText(PrintWriter out, RemoteWorkReport r) {
        out.println("Remote-work report " + r.since() + " .. " + r.until() + " (UTC days)");
        out.println();
        out.println("Sessions and connected hours per user and day");
        List<String[]> rows = new ArrayList<>();
        r.perDay().forEach((day, users) -> users.forEach((user, u) ->
                rows.add(new String[] {day.toString(), user, Integer.toString(u.sessions()), RemoteWorkReport.hours(u.connected())})));
        SearchCommand.printTable(out, new String[] {"DAY", "USER", "SESSIONS", "HOURS"}, rows);
        out.println();
        out.println("Per user over the period");
        rows.clear();
        r.perUser().forEach((user, u) -> rows.add(new String[] {user, Integer.toString(u.sessions()), RemoteWorkReport.hours(u.connected()),
                Integer.toString(u.outsideHours())}));
        SearchCommand.printTable(out, new String[] {"USER", "SESSIONS", "HOURS", "OUTSIDE HOURS"}, rows);
        out.println();
        out.println("Denials by reason");
        rows.clear();
        r.denials().forEach((key, n) -> rows.add(new String[] {key.substring(0, key.indexOf(' ')), key.substring(key.indexOf(' ') + 1), Integer.toString(n)}));
        SearchCommand.printTable(out, new String[] {"TYPE", "REASON", "COUNT"}, rows);
        out.println();
        out.println("Fleet compliance (compliant posture decisions / all)");
        rows.clear();
        r.compliance().forEach((day, c) -> rows.add(complianceRow(day.toString(), c)));
        rows.add(complianceRow("period", r.fleet()));
        SearchCommand.printTable(out, new String[] {"DAY", "COMPLIANT", "DECISIONS", "RATE"}, rows);
        out.println();
        out.println("Devices not seen (enrolled, active, no session started in the period)");
        rows.clear();
        r.notSeen().forEach(n -> rows.add(new String[] {n.device(), n.user(), n.lastSession() == null ? "never" : n.lastSession().toString()}));
        SearchCommand.printTable(out, new String[] {"DEVICE", "USER", "LAST SESSION"}, rows);
        if (r.perGateway().size() > 1) {
            out.println();
            out.println("Per gateway (sessions started in the period, connected hours, denied records, posture decisions)");
            rows.clear();
            r.perGateway().forEach((gateway, g) -> rows.add(gatewayRow(gateway, g)));
            rows.add(gatewayRow("total", r.gatewayTotal()));
            SearchCommand.printTable(out, new String[] {"GATEWAY", "SESSIONS", "HOURS", "DENIALS", "DECISIONS", "COMPLIANT", "RATE"}, rows);
        }
    }

    private static String[] gatewayRow(String gateway, RemoteWorkReport.GatewayUsage g) {
        String[] c = complianceRow(gateway, g.compliance());
        return new String[] {gateway, Integer.toString(g.usage().sessions()), RemoteWorkReport.hours(g.usage().connected()), Integer.toString(g.denials()),
                c[2], c[1], c[3]};
    }

    private static String[] complianceRow(String day, RemoteWorkReport.Compliance c) {
        return new String[] {day, Integer.toString(c.compliant()), Integer.toString(c.decisions()),
                c.decisions() == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * c.rate())};
    }

    private static void printCsv(PrintWriter out, RemoteWorkReport r) {
        out.print(CsvFormat.BOM + CSV_HEADER_COLUMNS + "\r\n");
        for (Map.Entry<LocalDate, Map<String, RemoteWorkReport.Usage>> d : r.perDay().entrySet()) {
            d.getValue().forEach((user, u) -> {
                csv(out, "sessions", d.getKey().toString(), user, "", "", "", Integer.toString(u.sessions()));
                csv(out, "connected_hours", d.getKey().toString(), user, "", "", "", RemoteWorkReport.hours(u.connected()));
            });
        }
        r.perUser().forEach((user, u) -> {
            csv(out, "sessions", "", user, "", "", "", Integer.toString(u.sessions()));
            csv(out, "connected_hours", "", user, "", "", "", RemoteWorkReport.hours(u.connected()));
            csv(out, "outside_hours", "", user, "", "", "", Integer.toString(u.outsideHours()));
        });
        r.denials().forEach((key, n) -> csv(out, "denials", "", "", "", key.substring(0, key.indexOf(' ')), key.substring(key.indexOf(' ') + 1), Integer.toString(n)));
        r.compliance().forEach((day, c) -> compliance(out, day.toString(), c));
        compliance(out, "", r.fleet());
        r.notSeen().forEach(n -> csv(out, "device_not_seen", "", n.user(), n.device(), "", "", n.lastSession() == null ? "" : n.lastSession().toString()));
        if (r.perGateway().size() > 1) {
            r.perGateway().forEach((gateway, g) -> {
                csv(out, "gateway_sessions", "", "", "", "", "", Integer.toString(g.usage().sessions()), gateway);
                csv(out, "gateway_connected_hours", "", "", "", "", "", RemoteWorkReport.hours(g.usage().connected()), gateway);
                csv(out, "gateway_denials", "", "", "", "", "", Integer.toString(g.denials()), gateway);
                csv(out, "gateway_posture_decisions", "", "", "", "", "", Integer.toString(g.compliance().decisions()), gateway);
                csv(out, "gateway_posture_compliant", "", "", "", "", "", Integer.toString(g.compliance().compliant()), gateway);
            });
        }
    }

    private static void compliance(PrintWriter out, String day, RemoteWorkReport.Compliance c) {
        csv(out, "posture_decisions", day, "", "", "", "", Integer.toString(c.decisions()));
        csv(out, "posture_compliant", day, "", "", "", "", Integer.toString(c.compliant()));
        if (c.decisions() > 0) {
            csv(out, "compliance_rate", day, "", "", "", "", String.format(Locale.ROOT, "%.4f", c.rate()));
        }
    }

    /** One row; the gateway column is empty unless given (the per-gateway metrics). */
    private static void csv(PrintWriter out, String... cells) {
        List<String> neutral = new ArrayList<>();
        for (String c : cells) {
            neutral.add(CsvFormat.neutralize(c));
        }
        if (cells.length < CSV_HEADER_COLUMNS.split(",").length) {
            neutral.add("");
        }
        out.print(CsvFormat.row(neutral));
    }
}
