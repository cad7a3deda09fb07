package org.postern.audit.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.postern.audit.testing.CefLines;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.TestTrail;
import org.postern.audit.query.Trails;

/**
 * Every format on hostile values a peer can put in a record (a CONNECT target, a certificate
 * subject, a detail): the export stays one record per line, parses with a real parser, gives the
 * values back, and a CSV formula stays inert.
 */
class ExportFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String FORMULA = "=cmd|' /C calc'!A0";
    static final String SCRIPT = "<script>alert(1)</script>";
    static final String BREAKERS = "a\",\"b\",x=y,\"";
    static final String BIDI = "evil\u202Etxt.exe";
    static final String ZERO_WIDTH = "ad\u200Bmin";
    static final String NEWLINES = "line1\r\nline2\nline3\r";
    static final String BIG = "x,\"=".repeat(5 * 1024); // 20 KB, past 15 KB, full of separators and quotes
    /** Cells that start with a formula trigger, each in its own record's dest. */
    static final List<String> TRIGGERS = List.of("+1+1", "-2+3", "@SUM(A1:A9)", "\tx", "\rx", FORMULA);

    @TempDir
    Path tmp;
    Trails trails;
    int records;

    @BeforeEach
    void writeTrail() {
        TestTrail t = new TestTrail(tmp.resolve("gw1"), "gw-1");
        t.add("2026-11-30T11:00:00.000Z", "access.denied", "device", ZERO_WIDTH, "user", BIDI, "dest", FORMULA,
                "source", "203.0.113.5:50000", "reason", SCRIPT, "detail", BREAKERS, "note", FORMULA);
        t.add("2026-11-30T11:00:01.000Z", "access.denied", "device", "laptop-1", "dest", "db1.internal:5432", "detail", NEWLINES, "reason", FORMULA);
        t.add("2026-11-30T11:00:02.000Z", "admin.reload", "user", "root", "detail", BIG);
        records = 3;
        for (String trigger : TRIGGERS) {
            t.add("2026-11-30T11:01:00.000Z", "flow.open", "device", "laptop-1", "user", trigger, "dest", trigger, "detail", trigger);
            records++;
        }
        trails = TestTrail.open(new ArrayList<>(), t.dir);
    }

    private String export(ExportFormat f) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long n = f.write(trails.stream(), AuditFilter.ALL, out);
        assertThat(n).isEqualTo(records);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void csv_isOneRecordPerLine_parses_andNoCellStartsAFormula() throws Exception {
        String text = export(ExportFormat.CSV);
        assertThat(text).startsWith(CsvFormat.BOM);
        text = text.substring(1);
        // one physical line per record: no line break but the CRLF that ends each row
        String[] lines = text.split("\r\n", -1);
        assertThat(lines).hasSize(records + 2); // header, the records, and the empty rest after the last CRLF
        assertThat(lines[records + 1]).isEmpty();
        for (String line : lines) {
            assertThat(line).doesNotContain("\n").doesNotContain("\r");
        }
        List<CSVRecord> rows;
        try (CSVParser p = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(new StringReader(text))) {
            assertThat(p.getHeaderNames()).isEqualTo(CsvFormat.COLUMNS);
            rows = p.getRecords();
        }
        assertThat(rows).hasSize(records).allSatisfy(r -> assertThat(r.size()).isEqualTo(CsvFormat.COLUMNS.size()));
        for (CSVRecord row : rows) {
            for (String cell : row) {
                assertThat(cell).as("a cell a spreadsheet would evaluate").doesNotStartWith("=").doesNotStartWith("+")
                        .doesNotStartWith("-").doesNotStartWith("@").doesNotStartWith("\t").doesNotStartWith("\r");
            }
        }
        CSVRecord hostile = rows.get(0);
        assertThat(hostile.get("dest")).isEqualTo("'" + FORMULA);
        assertThat(hostile.get("reason")).isEqualTo(SCRIPT);
        assertThat(hostile.get("detail")).isEqualTo(BREAKERS);
        assertThat(hostile.get("user")).isEqualTo("evil\\u202etxt.exe");
        assertThat(hostile.get("device")).isEqualTo("ad\\u200bmin");
        assertThat(hostile.get("outcome")).isEqualTo("denied");
        // the other column is JSON with the hidden characters as \\u escapes: the exact value comes back
        assertThat(hostile.get("other")).startsWith("{");
        assertThat(JSON.readTree(hostile.get("other")).get("note").asText()).isEqualTo(FORMULA);
        assertThat(rows.get(1).get("detail")).isEqualTo("line1\\r\\nline2\\nline3\\r");
        assertThat(rows.get(1).get("reason")).isEqualTo("'" + FORMULA);
        assertThat(rows.get(2).get("detail")).isEqualTo(BIG).hasSizeGreaterThan(15 * 1024);
        List<String> dests = rows.subList(3, records).stream().map(r -> r.get("dest")).toList();
        assertThat(dests).containsExactly("'+1+1", "'-2+3", "'@SUM(A1:A9)", "\\tx", "\\rx", "'" + FORMULA);
    }

    @Test
    void csv_neutralize_guardsEachTrigger_andRowQuotesSeparators() {
        assertThat(CsvFormat.neutralize("=1+1")).isEqualTo("'=1+1");
        assertThat(CsvFormat.neutralize("+1")).isEqualTo("'+1");
        assertThat(CsvFormat.neutralize("-1")).isEqualTo("'-1");
        assertThat(CsvFormat.neutralize("@x")).isEqualTo("'@x");
        assertThat(CsvFormat.neutralize("\t=1")).isEqualTo("\\t=1");
        assertThat(CsvFormat.neutralize("\r=1")).isEqualTo("\\r=1");
        assertThat(CsvFormat.neutralize("a=1")).isEqualTo("a=1");
        assertThat(CsvFormat.row(List.of(CsvFormat.neutralize("=\"a\",b"), "plain"))).isEqualTo("\"'=\"\"a\"\",b\",plain\r\n");
    }

    @Test
    void cef_isOneEventPerLine_andEveryValueRoundTrips() throws Exception {
        String text = export(ExportFormat.CEF);
        String[] lines = text.split("\n", -1);
        assertThat(lines).hasSize(records + 1);
        assertThat(lines[records]).isEmpty();
        for (int i = 0; i < records; i++) {
            assertThat(lines[i]).startsWith(CefFormat.PREFIX).doesNotContain("\r");
            assertThat(CefLines.header(lines[i])).hasSize(8);
        }
        Map<String, String> hostile = CefLines.extension(CefLines.header(lines[0]).get(7));
        assertThat(hostile).containsEntry("dhost", FORMULA).containsEntry("reason", SCRIPT).containsEntry("msg", BREAKERS)
                .containsEntry("suser", "evil\\u202etxt.exe").containsEntry("cs1", "ad\\u200bmin").containsEntry("outcome", "failure");
        assertThat(CefLines.extension(CefLines.header(lines[1]).get(7))).containsEntry("msg", NEWLINES);
        assertThat(CefLines.extension(CefLines.header(lines[2]).get(7)).get("msg")).isEqualTo(BIG);
        assertThat(CefFormat.header("a|b\\c\nd")).isEqualTo("a\\|b\\\\c d");
        assertThat(CefFormat.value("k=v \\ x\r\ny|z")).isEqualTo("k\\=v \\\\ x\\r\\ny|z");
    }

    @Test
    void jsonlAndOcsf_areOneJsonObjectPerLine_withTheExactValues() throws Exception {
        for (ExportFormat f : List.of(ExportFormat.JSONL, ExportFormat.OCSF)) {
            String[] lines = export(f).split("\n", -1);
            assertThat(lines).hasSize(records + 1);
            List<JsonNode> events = new ArrayList<>();
            for (int i = 0; i < records; i++) {
                events.add(JSON.readTree(lines[i]));
            }
            JsonNode first = events.getFirst();
            if (f == ExportFormat.JSONL) {
                assertThat(first.get("dest").asText()).isEqualTo(FORMULA);
                assertThat(first.get("user").asText()).isEqualTo(BIDI);
                assertThat(events.get(1).get("detail").asText()).isEqualTo(NEWLINES);
            } else {
                assertThat(first.at("/dst_endpoint/hostname").asText()).isEqualTo(FORMULA);
                assertThat(first.at("/user/name").asText()).isEqualTo(BIDI);
                assertThat(first.get("status_detail").asText()).isEqualTo(BREAKERS);
                assertThat(events.get(2).get("status_detail").asText()).isEqualTo(BIG);
            }
        }
    }

    @Test
    void parse_namesTheFormats_andTheWriterStreamsWithAFilter() throws Exception {
        assertThat(ExportFormat.parse("format", "CSV")).isEqualTo(ExportFormat.CSV);
        assertThat(ExportFormat.names()).containsExactly("jsonl", "csv", "cef", "ocsf");
        assertThatThrownBy(() -> ExportFormat.parse("format", "xml")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("format: expected one of jsonl, csv, cef, ocsf, found \"xml\"");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AuditFilter denied = new AuditFilter(null, null, null, null, List.of("access"), null, null, null, false);
        assertThat(ExportFormat.JSONL.write(trails.stream(), denied, out)).isEqualTo(2);
        assertThat(out.toString(StandardCharsets.UTF_8).lines()).hasSize(2);
        assertThat(ExportFormat.CSV.mediaType()).isEqualTo("text/csv; charset=utf-8");
    }
}
