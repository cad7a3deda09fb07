package org.postern.cli.audit;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.Trails;
import org.postern.audit.report.AccessReport;
import org.postern.cli.Exit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern audit access}: who reached which host, when, from which device, with which posture decision. */
@Command(name = "access", mixinStandardHelpOptions = true,
        description = {"Access report: who reached which host, when, from which device, with which posture decision.",
                "One row per flow.open (a tunnel, an SSH channel, a VPN flow): time, user, device, destination,",
                "via (connect, ssh, vpn), session, the posture result and the posture and access policy versions.",
                "Values an older flow record lacks are taken from its session.start, then from the device's last posture",
                "decision; else unknown. Filters as for search select the flows (the records before them are still read).",
                "Several trails (one per gateway) are merged by time."})
final class AccessCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    FilterOptions options;
    @Option(names = "--json", description = "Print one JSON object per row instead of the table.")
    boolean json;
    @Option(names = "--limit", paramLabel = "N", description = "Stop after the first N rows.")
    Integer limit;
    @ParentCommand
    AuditCommand parent;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (limit != null && limit < 1) {
            throw new Exit(Exit.USAGE, "--limit: expected a positive number, found " + limit);
        }
        AuditFilter filter = options.filter(parent.clock());
        Trails reader = options.reader(spec.commandLine().getErr());
        PrintWriter out = spec.commandLine().getOut();
        AccessReport report = new AccessReport(filter);
        int max = limit == null ? Integer.MAX_VALUE : limit;
        List<String[]> rows = new ArrayList<>();
        int[] count = {0};
        try {
            reader.read(r -> {
                AccessReport.Row row = report.accept(r);
                if (row == null) {
                    return true;
                }
                count[0]++;
                if (json) {
                    out.println(json(row));
                } else {
                    rows.add(new String[] {row.time().toString(), row.gateway(), row.user(), row.device(), row.dest(), row.via(),
                            row.session(), row.posture(), row.posturePolicy(), row.accessPolicy()});
                }
                return count[0] < max;
            });
        } finally {
            out.flush();
        }
        if (!json) {
            String[] header = {"TIME", "GATEWAY", "USER", "DEVICE", "DEST", "VIA", "SESSION", "POSTURE", "POSTURE POLICY", "ACCESS POLICY"};
            if (rows.stream().map(row -> row[1]).distinct().limit(2).count() > 1) {
                SearchCommand.printTable(out, header, rows);
            } else {
                List<String[]> narrow = new ArrayList<>(rows.size());
                rows.forEach(row -> narrow.add(SearchCommand.withoutColumn(row, 1)));
                SearchCommand.printTable(out, SearchCommand.withoutColumn(header, 1), narrow);
            }
            out.println(count[0] + (count[0] == 1 ? " flow" : " flows"));
        }
        return 0;
    }

    static String json(AccessReport.Row row) {
        ObjectNode o = JSON.createObjectNode();
        o.put("time", row.time().toString()).put("gateway", row.gateway()).put("user", row.user()).put("device", row.device())
                .put("dest", row.dest()).put("destAddress", row.destAddress()).put("via", row.via()).put("session", row.session())
                .put("flow", row.flow()).put("posture", row.posture()).put("posturePolicy", row.posturePolicy())
                .put("accessPolicy", row.accessPolicy());
        return o.toString();
    }
}
