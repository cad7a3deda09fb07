package org.postern.audit.export;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.Outcome;
import org.postern.audit.text.TerminalText;

/**
 * CSV per RFC 4180: a header row, CRLF line ends, fields with a comma, quote, CR or LF quoted and
 * quotes doubled. The output starts with a UTF-8 byte-order mark so that spreadsheets read it as
 * UTF-8 rather than the local code page. Text values go through {@link TerminalText#escape} (a
 * control or bidi character a peer sent shows as {@code \x1b} or <code>&#92;u202e</code>, a line break as
 * {@code \n}, so every record is one line, also when the file is printed); the {@code other} column
 * stays JSON, those characters written as <code>&#92;uXXXX</code>. A text value that then starts with
 * {@code = + - @}, a tab or CR is prefixed with {@code '} so that a spreadsheet shows it instead of
 * evaluating it as a formula (a client chooses {@code dest}, for one).
 */
public final class CsvFormat {
    /** The byte-order mark the file starts with. */
    public static final String BOM = "\uFEFF";
    /** The header, in order. */
    public static final List<String> COLUMNS = List.of("time", "seq", "type", "outcome", "gateway", "session", "flow", "device", "user",
            "source", "via", "dest", "destAddress", "bytesUp", "bytesDown", "durationMs", "how", "result", "reasons", "reason",
            "policyVersion", "certSerial", "certSha256", "detail", "other");
    /** Fields with a column of their own, and {@code prev}, which only verification needs. */
    private static final Set<String> IN_COLUMNS = Set.copyOf(COLUMNS.subList(0, COLUMNS.size() - 1).stream()
            .filter(c -> !c.equals("outcome")).toList());

    private CsvFormat() {}

    static String header() {
        return BOM + row(COLUMNS);
    }

    static String line(AuditRecord r) {
        String[] cells = new String[COLUMNS.size()];
        for (int i = 0; i < cells.length; i++) {
            String c = COLUMNS.get(i);
            cells[i] = switch (c) {
                case "outcome" -> Outcome.of(r).wireName();
                case "other" -> other(r);
                default -> cell(r, c);
            };
        }
        return row(List.of(cells));
    }

    private static String cell(AuditRecord r, String field) {
        JsonNode n = r.json().get(field);
        String v = r.text(field);
        if (v == null) {
            return "";
        }
        return n.isNumber() || n.isBoolean() ? v : neutralize(v);
    }

    /** The remaining event fields as one JSON object, so that no field is lost. */
    private static String other(AuditRecord r) {
        ObjectNode rest = ExportFormat.JSON.createObjectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = r.json().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!IN_COLUMNS.contains(e.getKey()) && !e.getKey().equals("prev")) {
                rest.set(e.getKey(), e.getValue());
            }
        }
        return rest.isEmpty() ? "" : TerminalText.escapeInJson(rest.toString());
    }

    /** The value shown safely ({@link TerminalText#escape}), and never read by a spreadsheet as a formula. */
    public static String neutralize(String raw) {
        String v = TerminalText.escape(raw);
        return !v.isEmpty() && "=+-@\t\r".indexOf(v.charAt(0)) >= 0 ? "'" + v : v;
    }

    /** One row of cells as given (neutralise text first), quoted per RFC 4180, ending in CRLF. */
    public static String row(List<String> cells) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(quote(cells.get(i)));
        }
        return b.append("\r\n").toString();
    }

    static String quote(String v) {
        if (v.indexOf(',') < 0 && v.indexOf('"') < 0 && v.indexOf('\r') < 0 && v.indexOf('\n') < 0) {
            return v;
        }
        return '"' + v.replace("\"", "\"\"") + '"';
    }
}
