package org.postern.cli.audit;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.Trails;
import org.postern.audit.text.TerminalText;
import org.postern.cli.Exit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern audit search}: the records that match, as an aligned table or as JSON lines. */
@Command(name = "search", mixinStandardHelpOptions = true,
        description = {"Find records in audit trails: who reached what, when, from which device, and how it ended.",
                "Several trails (one per gateway) are merged by time.",
                "Prints a table (time, type, device, user, source, summary; the gateway too when the records come from more than one),",
                "or the records as JSON lines with --json, each with its gateway field as written."})
final class SearchCommand implements Callable<Integer> {
    /** Fields shown in their own column or not worth a place in the summary. */
    private static final Set<String> NOT_IN_SUMMARY = Set.of("seq", "time", "type", "gateway", "device", "user", "source", "prev");

    @Mixin
    FilterOptions options;
    @Option(names = "--json", description = "Print the matching records as JSON lines, as written.")
    boolean json;
    @Option(names = "--limit", paramLabel = "N", description = "Stop after the first N matching records.")
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
        List<String[]> rows = new ArrayList<>();
        int max = limit == null ? Integer.MAX_VALUE : limit;
        int[] count = {0};
        try {
            reader.read(r -> {
                if (!filter.test(r)) {
                    return true;
                }
                count[0]++;
                if (json) {
                    out.println(r.json().toString());
                } else {
                    rows.add(new String[] {r.text("time"), dash(r.text("gateway")), r.type(), dash(r.text("device")), dash(r.text("user")),
                            dash(r.text("source")), summary(r)});
                }
                return count[0] < max;
            });
        } finally {
            out.flush();
        }
        if (!json) {
            printTable(out, rows);
            out.println(count[0] + (count[0] == 1 ? " record" : " records"));
        }
        return 0;
    }

    /**
     * The table, with a GATEWAY column only when the rows come from more than one gateway: the
     * table of one trail stays as it always was.
     */
    private static void printTable(PrintWriter out, List<String[]> rows) {
        String[] header = {"TIME", "GATEWAY", "TYPE", "DEVICE", "USER", "SOURCE", "SUMMARY"};
        if (rows.stream().map(row -> row[1]).distinct().limit(2).count() > 1) {
            printTable(out, header, rows);
            return;
        }
        List<String[]> narrow = new ArrayList<>(rows.size());
        rows.forEach(row -> narrow.add(withoutColumn(row, 1)));
        printTable(out, withoutColumn(header, 1), narrow);
    }

    static String[] withoutColumn(String[] row, int i) {
        String[] n = new String[row.length - 1];
        System.arraycopy(row, 0, n, 0, i);
        System.arraycopy(row, i + 1, n, i, row.length - i - 1);
        return n;
    }

    /** The event fields as {@code key=value}, hashes shortened; flows and posture in their own words. */
    static String summary(AuditRecord r) {
        StringBuilder b = new StringBuilder();
        switch (r.type()) {
            case "flow.close" -> b.append(r.text("dest")).append(" -> ").append(dash(r.text("destAddress")))
                    .append(" up=").append(r.number("bytesUp")).append(" down=").append(r.number("bytesDown"))
                    .append(" ").append(r.number("durationMs")).append("ms");
            case "posture.decision" -> b.append(r.text("result")).append(r.text("reasons") == null || r.text("reasons").isEmpty() ? "" : " [" + r.text("reasons") + "]");
            default -> { }
        }
        Set<String> done = switch (r.type()) {
            case "flow.close" -> Set.of("dest", "destAddress", "bytesUp", "bytesDown", "durationMs");
            case "posture.decision" -> Set.of("result", "reasons");
            default -> Set.of();
        };
        for (Iterator<Map.Entry<String, JsonNode>> it = r.json().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (NOT_IN_SUMMARY.contains(e.getKey()) || done.contains(e.getKey())) {
                continue;
            }
            String v = r.text(e.getKey());
            if (v == null) {
                continue;
            }
            if (v.matches("[0-9a-f]{64}")) {
                v = v.substring(0, 12) + "…";
            }
            if (!b.isEmpty()) {
                b.append(' ');
            }
            b.append(e.getKey()).append('=').append(v);
        }
        return b.toString();
    }

    static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    /**
     * Columns as wide as their widest cell; the last column is not padded. Every cell goes through
     * {@link TerminalText#escape}: records carry text peers chose (a CONNECT target, a certificate
     * subject), which must not reach the terminal as control sequences.
     */
    static void printTable(PrintWriter out, String[] header, List<String[]> rawRows) {
        List<String[]> rows = new ArrayList<>(rawRows.size());
        for (String[] raw : rawRows) {
            String[] row = new String[raw.length];
            for (int i = 0; i < raw.length; i++) {
                row[i] = raw[i] == null ? "-" : TerminalText.escape(raw[i]);
            }
            rows.add(row);
        }
        int[] width = new int[header.length];
        for (int i = 0; i < header.length; i++) {
            width[i] = header[i].length();
        }
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        printRow(out, width, header);
        for (String[] row : rows) {
            printRow(out, width, row);
        }
        out.flush();
    }

    private static void printRow(PrintWriter out, int[] width, String[] row) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < row.length; i++) {
            b.append(row[i]);
            if (i < row.length - 1) {
                b.append(" ".repeat(width[i] - row[i].length() + 2));
            }
        }
        out.println(b.toString().stripTrailing());
    }
}
