package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
import org.postern.audit.export.CefFormat;
import org.postern.audit.export.CsvFormat;
import org.postern.cli.Exit;
import org.postern.cli.PosternCommand;
import picocli.CommandLine;

/** {@code postern audit search|export|report}, run in-process on a trail written by {@link TestTrail}. */
class AuditCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A value with every character the export formats must escape. */
    static final String NASTY = "a, \"b\"\nline2 | x=y \\ z";
    static final String FORMULA = "=cmd|' /C calc'!A0";
    /** "Now" for relative times: 2026-12-01T04:30Z. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T04:30:00Z"), ZoneOffset.UTC);

    @TempDir
    Path tmp;
    Path dir;
    Path pki;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = PosternCommand.commandLine();
        ((AuditCommand) cl.getSubcommands().get("audit").getCommandSpec().userObject()).useClock(CLOCK);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeEach
    void writeTrail() throws Exception {
        dir = tmp.resolve("audit");
        TestTrail t = new TestTrail(dir);
        t.add("2026-11-30T10:00:00.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", "alice", "source", "203.0.113.5:50000", "via", "tls")
                .add("2026-11-30T10:00:01.000Z", "posture.decision", "session", "s1", "device", "laptop-1", "user", "alice",
                        "evidenceSha256", "ab".repeat(32), "policyVersion", "7", "mode", "enforce", "result", "compliant", "reasons", List.of())
                .add("2026-11-30T10:05:00.000Z", "flow.open", "session", "s1", "flow", "f1", "device", "laptop-1", "user", "alice",
                        "dest", "db1.internal:5432", "destAddress", "10.0.0.5:5432")
                .add("2026-11-30T10:35:00.000Z", "flow.close", "session", "s1", "flow", "f1", "device", "laptop-1", "user", "alice",
                        "dest", "db1.internal:5432", "destAddress", "10.0.0.5:5432", "bytesUp", 1000, "bytesDown", 20000, "durationMs", 1800000, "how", "client_closed")
                .add("2026-11-30T11:00:00.000Z", "access.denied", "session", "s1", "device", "laptop-1", "user", "alice",
                        "source", "203.0.113.5:50000", "dest", "secret.internal:22", "reason", "policy.no_rule", "detail", NASTY)
                .add("2026-11-30T11:30:00.000Z", "audit.checkpoint", "records", 6, "head", "cd".repeat(32), "segment", 1, "reason", "interval", "keyId", "k1", "sig", "AAAA")
                .add("2026-11-30T12:00:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", "alice", "reason", "client_closed")
                .rotate()
                .add("2026-11-30T23:00:00.000Z", "session.start", "session", "s2", "device", "laptop-2", "user", "bob", "source", "[2001:db8::7]:40000", "via", "ssh")
                .add("2026-11-30T23:00:01.000Z", "posture.decision", "session", "s2", "device", "laptop-2", "user", "bob",
                        "evidenceSha256", "ef".repeat(32), "policyVersion", "7", "mode", "enforce", "result", "non_compliant", "reasons", List.of("os.too_old", "disk.unencrypted"))
                .raw("{\"seq\":10,\"time\":\"2026-11-30T23:0")
                .add("2026-12-01T01:00:00.000Z", "session.end", "session", "s2", "device", "laptop-2", "user", "bob", "reason", "non_compliant")
                .add("2026-12-01T02:00:00.000Z", "tls.rejected", "source", "198.51.100.7:4000", "certSerial", "0a1b", "reason", "cert.unknown_ca")
                .add("2026-12-01T03:00:00.000Z", "session.start", "session", "s3", "device", "laptop-1", "user", "alice", "source", "203.0.113.5:50100", "via", "tls")
                .add("2026-12-01T03:30:00.000Z", "posture.decision", "session", "s3", "device", "laptop-1", "user", "alice",
                        "evidenceSha256", "12".repeat(32), "policyVersion", "7", "mode", "enforce", "result", "compliant", "reasons", List.of())
                .add("2026-12-01T04:00:00.000Z", "admin.reload", "user", "root", "detail", FORMULA);
        Files.writeString(dir.resolve("segment-000002.jsonl.torn-1764550000"), "{\"garbage\n");
        pki = tmp.resolve("pki-audit.jsonl");
        TestTrail.pkiFile(pki,
                Map.of("time", "2026-11-01T09:00:00.000Z", "type", "pki.enroll", "gateway", "pki@host", "device", "laptop-1", "user", "alice"),
                Map.of("time", "2026-11-01T09:10:00.000Z", "type", "pki.enroll", "gateway", "pki@host", "device", "laptop-2", "user", "bob"),
                Map.of("time", "2026-11-02T09:00:00.000Z", "type", "pki.enroll", "gateway", "pki@host", "device", "laptop-3", "user", "carol"),
                Map.of("time", "2026-11-02T09:30:00.000Z", "type", "pki.enroll", "gateway", "pki@host", "device", "laptop-4", "user", "dave"),
                Map.of("time", "2026-11-20T09:30:00.000Z", "type", "pki.revoke", "gateway", "pki@host", "device", "laptop-4", "user", "dave", "reason", "lost"),
                Map.of("time", "2026-11-30T09:00:00.000Z", "type", "pki.enroll.denied", "gateway", "pki@host", "device", "laptop-5",
                        "source", "192.0.2.9:5555", "reason", "est.token_used", "detail", "used"));
    }

    private List<JsonNode> jsonLines(String out) throws Exception {
        List<JsonNode> list = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                list.add(JSON.readTree(line));
            }
        }
        return list;
    }

    private static List<String> types(List<JsonNode> records) {
        return records.stream().map(n -> n.get("type").asText()).toList();
    }

    // ---- search

    @Test
    void search_table_isAlignedAndSkipsCheckpointsAndWarnsOnBadLine() {
        Run r = run("audit", "search", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("postern: skipping segment-000002.jsonl:3: not JSON");
        assertThat(r.out()).doesNotContain("audit.checkpoint").contains("13 records");
        String[] lines = r.out().split("\n");
        assertThat(lines[0]).startsWith("TIME").contains("TYPE").contains("DEVICE").contains("USER").contains("SOURCE").contains("SUMMARY");
        int typeColumn = lines[0].indexOf("TYPE");
        assertThat(lines[1].substring(typeColumn)).startsWith("session.start");
        assertThat(lines[4].substring(typeColumn)).startsWith("flow.close");
        assertThat(lines[4]).contains("db1.internal:5432 -> 10.0.0.5:5432 up=1000 down=20000 1800000ms");
        assertThat(r.out()).contains("non_compliant [os.too_old,disk.unencrypted]");
    }

    @Test
    void search_fileGivenATrailDirectory_readsItsSegmentsAfterDir() throws Exception {
        Path pkiTrail = tmp.resolve("pki-trail");
        new TestTrail(pkiTrail)
                .add("2026-11-01T09:00:00.000Z", "pki.token.create", "device", "laptop-9", "user", "erin")
                .add("2026-11-01T09:05:00.000Z", "pki.revoke", "device", "laptop-9", "user", "erin", "reason", "lost");
        Run r = run("audit", "search", dir.toString(), "--file", pkiTrail.toString(), "--json", "--type", "pki.");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(types(jsonLines(r.out()))).containsExactly("pki.token.create", "pki.revoke");

        Files.createDirectories(tmp.resolve("empty"));
        Run empty = run("audit", "search", "--file", tmp.resolve("empty").toString());
        assertThat(empty.code()).isEqualTo(2);
        assertThat(empty.err()).contains("--file " + tmp.resolve("empty") + ": expected a JSON-lines file or a trail directory of"
                + " segment-NNNNNN.jsonl files, found a directory without segments");
    }

    @Test
    void search_includeCheckpoints_showsThem() throws Exception {
        Run r = run("audit", "search", dir.toString(), "--json", "--include-checkpoints", "--type", "audit.");
        assertThat(types(jsonLines(r.out()))).containsExactly("audit.checkpoint");
    }

    @Test
    void search_json_byDeviceAndTypePrefix() throws Exception {
        Run r = run("audit", "search", dir.toString(), "--device", "laptop-1", "--type", "session,flow.", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        List<JsonNode> got = jsonLines(r.out());
        assertThat(types(got)).containsExactly("session.start", "flow.open", "flow.close", "session.end", "session.start");
        assertThat(got.get(0).get("prev").asText()).isEqualTo("0".repeat(64));
    }

    @Test
    void search_outcomeDenied_followsTheDocumentedRule() throws Exception {
        Run r = run("audit", "search", dir.toString(), "--file", pki.toString(), "--outcome", "denied", "--json");
        // the PKI file is merged by time with the trail: its refusal at 09:00 comes first
        assertThat(types(jsonLines(r.out()))).containsExactly("pki.enroll.denied", "access.denied", "posture.decision", "session.end", "tls.rejected");
        Run allowed = run("audit", "search", dir.toString(), "--outcome", "allowed", "--user", "bob", "--json");
        assertThat(types(jsonLines(allowed.out()))).containsExactly("session.start");
    }

    @Test
    void search_relativeSince_countsFromTheInjectedClock() throws Exception {
        // now is 2026-12-01T04:30Z: -2h is 02:30, so s3's start, its posture decision and the admin event
        Run r = run("audit", "search", dir.toString(), "--since", "-2h", "--json");
        assertThat(types(jsonLines(r.out()))).containsExactly("session.start", "posture.decision", "admin.reload");
        Run d = run("audit", "search", dir.toString(), "--since", "-4h", "--until", "-2h", "--json");
        assertThat(types(jsonLines(d.out()))).containsExactly("session.end", "tls.rejected");
    }

    @Test
    void search_untilDate_includesTheWholeDay_andDestMatchesHostWithoutPort() throws Exception {
        Run r = run("audit", "search", dir.toString(), "--until", "2026-11-30", "--dest", "DB1.internal", "--json");
        assertThat(types(jsonLines(r.out()))).containsExactly("flow.open", "flow.close");
        Run byAddress = run("audit", "search", dir.toString(), "--dest", "10.0.0.5", "--limit", "1", "--json");
        assertThat(types(jsonLines(byAddress.out()))).containsExactly("flow.open");
    }

    @Test
    void search_pkiFileAlone_isReadWithFile() throws Exception {
        Run r = run("audit", "search", "--file", pki.toString(), "--type", "pki.enroll", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(jsonLines(r.out())).hasSize(5);
    }

    // ---- errors

    @Test
    void errors_areExit2WithWhatWasExpectedAndFound() throws Exception {
        Run format = run("audit", "export", dir.toString(), "--format", "xml");
        assertThat(format.code()).isEqualTo(Exit.USAGE);
        assertThat(format.err()).contains("--format: expected one of jsonl, csv, cef, ocsf, found \"xml\"");

        Run time = run("audit", "search", dir.toString(), "--since", "yesterday");
        assertThat(time.code()).isEqualTo(Exit.USAGE);
        assertThat(time.err()).contains("--since: expected an ISO instant like 2026-11-30T08:00:00Z, a date like 2026-11-30, or a relative time like -24h or -7d, found \"yesterday\"");

        Run missing = run("audit", "search", tmp.resolve("nope").toString());
        assertThat(missing.code()).isEqualTo(Exit.USAGE);
        assertThat(missing.err()).contains("audit directory " + tmp.resolve("nope") + ": expected a directory of segment-NNNNNN.jsonl files, found nothing there");

        Files.createDirectories(tmp.resolve("empty"));
        Run empty = run("audit", "report", tmp.resolve("empty").toString(), "--since", "-1d", "--until", "now");
        assertThat(empty.code()).isEqualTo(Exit.USAGE);
        assertThat(empty.err()).contains("expected segment-NNNNNN.jsonl files, found none");

        Run neither = run("audit", "search");
        assertThat(neither.code()).isEqualTo(Exit.USAGE);
        assertThat(neither.err()).contains("expected an audit directory DIR or --file FILE, found neither");

        Run outcome = run("audit", "search", dir.toString(), "--outcome", "maybe");
        assertThat(outcome.err()).contains("--outcome: expected allowed or denied, found \"maybe\"");
        assertThat(outcome.code()).isEqualTo(Exit.USAGE);
    }

    // ---- export

    @Test
    void export_csv_parsesWithARealParser_withBomHeaderAndEscapedValues() throws Exception {
        Path out = tmp.resolve("out.csv");
        Run r = run("audit", "export", dir.toString(), "--format", "csv", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        byte[] bytes = Files.readAllBytes(out);
        assertThat(bytes).startsWith(0xEF, 0xBB, 0xBF);
        String text = new String(bytes, StandardCharsets.UTF_8).substring(1);
        assertThat(text).contains("\r\n");
        List<CSVRecord> rows;
        try (CSVParser p = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(new StringReader(text))) {
            assertThat(p.getHeaderNames()).isEqualTo(CsvFormat.COLUMNS);
            rows = p.getRecords();
        }
        assertThat(rows).hasSize(13);
        CSVRecord denied = rows.stream().filter(x -> x.get("type").equals("access.denied")).findFirst().orElseThrow();
        // one line per record, also when the file is printed: the line break shown as \n, the backslash doubled
        assertThat(denied.get("detail")).isEqualTo("a, \"b\"\\nline2 | x=y \\\\ z");
        assertThat(denied.get("outcome")).isEqualTo("denied");
        assertThat(denied.get("dest")).isEqualTo("secret.internal:22");
        CSVRecord flow = rows.stream().filter(x -> x.get("type").equals("flow.close")).findFirst().orElseThrow();
        assertThat(flow.get("bytesDown")).isEqualTo("20000");
        assertThat(flow.get("other")).isEmpty();
        CSVRecord posture = rows.stream().filter(x -> x.get("type").equals("posture.decision") && x.get("user").equals("bob")).findFirst().orElseThrow();
        assertThat(posture.get("reasons")).isEqualTo("os.too_old,disk.unencrypted");
        assertThat(JSON.readTree(posture.get("other")).get("evidenceSha256").asText()).isEqualTo("ef".repeat(32));
        CSVRecord admin = rows.get(rows.size() - 1);
        assertThat(admin.get("detail")).isEqualTo("'" + FORMULA);
        assertThat(r.err()).contains("exported 13 records to " + out);
    }

    @Test
    void export_cef_splitsPerSpecAndEscapedValuesRoundTrip() {
        Run r = run("audit", "export", dir.toString(), "--format", "cef");
        assertThat(r.code()).as(r.err()).isZero();
        String[] lines = r.out().split("\n");
        assertThat(lines).hasSize(13).allMatch(l -> l.startsWith("CEF:0|Postern|Postern Gateway|0.1.0|"));
        String denied = List.of(lines).stream().filter(l -> l.contains("|access.denied|")).findFirst().orElseThrow();
        List<String> h = CefLines.header(denied);
        assertThat(h.subList(0, 7)).containsExactly("CEF:0", "Postern", "Postern Gateway", "0.1.0", "access.denied", "access denied", "5");
        Map<String, String> x = CefLines.extension(h.get(7));
        assertThat(x).containsEntry("msg", NASTY).containsEntry("reason", "policy.no_rule").containsEntry("outcome", "failure")
                .containsEntry("src", "203.0.113.5").containsEntry("spt", "50000").containsEntry("dhost", "secret.internal")
                .containsEntry("dpt", "22").containsEntry("suser", "alice").containsEntry("cs1", "laptop-1").containsEntry("cs1Label", "device")
                .containsEntry("rt", Long.toString(Instant.parse("2026-11-30T11:00:00Z").toEpochMilli()));
        Map<String, String> flow = CefLines.extension(CefLines.header(lines[3]).get(7));
        assertThat(flow).containsEntry("dst", "10.0.0.5").containsEntry("dhost", "db1.internal").containsEntry("dpt", "5432")
                .containsEntry("in", "1000").containsEntry("out", "20000").containsEntry("cn1", "1800000").containsEntry("outcome", "success");
        Map<String, String> ipv6 = CefLines.extension(CefLines.header(lines[6]).get(7));
        assertThat(ipv6).containsEntry("src", "2001:db8::7").containsEntry("spt", "40000");
        assertThat(CefFormat.header("a|b\\c")).isEqualTo("a\\|b\\\\c");
        assertThat(CefLines.header("CEF:0|V|P|1|sig\\|x|n\\\\m|3|k=v").subList(4, 6)).containsExactly("sig|x", "n\\m");
    }

    @Test
    void export_ocsf_mapsClassesActivitiesAndFields() throws Exception {
        Run r = run("audit", "export", dir.toString(), "--file", pki.toString(), "--format", "ocsf", "--type", "session,flow,posture,access,tls,pki.enroll,admin");
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, JsonNode> byType = new LinkedHashMap<>();
        for (JsonNode n : jsonLines(r.out())) {
            byType.putIfAbsent(n.get("metadata").get("event_code").asText(), n);
            assertThat(n.get("type_uid").asInt()).isEqualTo(n.get("class_uid").asInt() * 100 + n.get("activity_id").asInt());
            assertThat(n.get("metadata").get("product").get("name").asText()).isEqualTo("Postern Gateway");
            assertThat(n.has("time") && n.has("severity_id") && n.has("status_id") && n.has("category_uid")).isTrue();
        }
        JsonNode start = byType.get("session.start");
        assertThat(start.get("class_uid").asInt()).isEqualTo(4014);
        assertThat(start.get("category_uid").asInt()).isEqualTo(4);
        assertThat(start.get("activity_id").asInt()).isEqualTo(1);
        assertThat(start.get("time").asLong()).isEqualTo(Instant.parse("2026-11-30T10:00:00Z").toEpochMilli());
        assertThat(start.at("/src_endpoint/ip").asText()).isEqualTo("203.0.113.5");
        assertThat(start.at("/src_endpoint/port").asInt()).isEqualTo(50000);
        assertThat(start.at("/user/name").asText()).isEqualTo("alice");
        assertThat(start.at("/session/uid").asText()).isEqualTo("s1");
        assertThat(start.at("/unmapped/via").asText()).isEqualTo("tls");
        assertThat(byType.get("session.end").get("activity_id").asInt()).isEqualTo(2);
        JsonNode flow = byType.get("flow.close");
        assertThat(flow.get("class_uid").asInt()).isEqualTo(4001);
        assertThat(flow.get("activity_id").asInt()).isEqualTo(2);
        assertThat(flow.at("/dst_endpoint/hostname").asText()).isEqualTo("db1.internal");
        assertThat(flow.at("/dst_endpoint/ip").asText()).isEqualTo("10.0.0.5");
        assertThat(flow.at("/traffic/bytes_out").asLong()).isEqualTo(1000);
        assertThat(flow.at("/traffic/bytes_in").asLong()).isEqualTo(20000);
        assertThat(flow.get("duration").asLong()).isEqualTo(1800000);
        JsonNode denied = byType.get("access.denied");
        assertThat(denied.get("class_uid").asInt()).isEqualTo(4001);
        assertThat(denied.get("activity_id").asInt()).isEqualTo(5);
        assertThat(denied.get("status_id").asInt()).isEqualTo(2);
        assertThat(denied.get("status_code").asText()).isEqualTo("policy.no_rule");
        assertThat(denied.get("status_detail").asText()).isEqualTo(NASTY);
        JsonNode posture = byType.get("posture.decision");
        assertThat(posture.get("class_uid").asInt()).isEqualTo(3002);
        assertThat(posture.get("category_uid").asInt()).isEqualTo(3);
        assertThat(posture.at("/unmapped/policyVersion").asText()).isEqualTo("7");
        assertThat(byType.get("tls.rejected").get("class_uid").asInt()).isEqualTo(3002);
        assertThat(byType.get("pki.enroll").get("class_uid").asInt()).isEqualTo(3002);
        assertThat(byType.get("pki.enroll.denied").get("status_id").asInt()).isEqualTo(2);
        JsonNode admin = byType.get("admin.reload");
        assertThat(admin.get("class_uid").asInt()).isZero();
        assertThat(admin.get("category_uid").asInt()).isZero();
        assertThat(admin.get("type_uid").asInt()).isEqualTo(99);
    }

    @Test
    void export_jsonl_keepsRecordsAsWritten() throws Exception {
        Run r = run("audit", "export", dir.toString(), "--format", "jsonl", "--user", "bob");
        List<JsonNode> got = jsonLines(r.out());
        assertThat(types(got)).containsExactly("session.start", "posture.decision", "session.end");
        List<String> written = Files.readAllLines(dir.resolve("segment-000002.jsonl"));
        assertThat(r.out().split("\n")[0]).isEqualTo(written.get(0));
        assertThat(got.get(1).get("prev").asText()).isEqualTo(TestTrail.sha256(written.get(0)));
    }

    // ---- report

    @Test
    void report_text_matchesTheHandComputedNumbers() {
        Run r = run("audit", "report", dir.toString(), "--file", pki.toString(), "--since", "2026-11-30", "--until", "2026-12-01");
        assertThat(r.code()).as(r.err()).isZero();
        String out = r.out().replaceAll(" +", " ");
        // s1 alice 10:00-12:00; s2 bob 23:00-01:00 across midnight; s3 alice from 03:00, open until the last record (04:00)
        assertThat(out).contains("2026-11-30 alice 1 2.00\n").contains("2026-11-30 bob 1 1.00\n")
                .contains("2026-12-01 alice 1 1.00\n").contains("2026-12-01 bob 0 1.00\n");
        assertThat(out).contains("alice 2 3.00 0\n").contains("bob 1 2.00 0\n");
        assertThat(out).contains("access.denied policy.no_rule 1\n").contains("posture.decision disk.unencrypted 1\n")
                .contains("posture.decision os.too_old 1\n").contains("session.end non_compliant 1\n").contains("tls.rejected cert.unknown_ca 1\n");
        assertThat(out).contains("2026-11-30 1 2 50.0%\n").contains("2026-12-01 1 1 100.0%\n").contains("period 2 3 66.7%\n");
        // laptop-4 was revoked; laptop-3 enrolled and never connected
        assertThat(out).contains("laptop-3 carol never").doesNotContain("laptop-4").doesNotContain("laptop-1 alice");
    }

    @Test
    void report_csv_parsesAndCountsTimeInsideThePeriodOnly() throws Exception {
        Run r = run("audit", "report", dir.toString(), "--file", pki.toString(), "--since", "2026-12-01T00:00:00Z", "--until", "2026-12-01T02:00:00Z", "--csv");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("\uFEFF");
        List<CSVRecord> rows;
        try (CSVParser p = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(new StringReader(r.out().substring(1)))) {
            assertThat(String.join(",", p.getHeaderNames())).isEqualTo(ReportCommand.CSV_HEADER_COLUMNS);
            rows = p.getRecords();
        }
        Map<String, String> values = new LinkedHashMap<>();
        rows.forEach(x -> values.put(x.get("metric") + "/" + x.get("day") + "/" + x.get("user") + "/" + x.get("device") + "/" + x.get("reason"), x.get("value")));
        // bob's session began before the period: its hour inside counts, the session itself does not
        assertThat(values).containsEntry("connected_hours/2026-12-01/bob//", "1.00").containsEntry("sessions/2026-12-01/bob//", "0")
                .containsEntry("denials////non_compliant", "1").containsEntry("posture_decisions////", "0")
                .containsEntry("device_not_seen//alice/laptop-1/", "2026-11-30T10:00:00Z")
                .containsEntry("device_not_seen//carol/laptop-3/", "")
                .doesNotContainKey("device_not_seen//bob/laptop-2/");
    }

    @Test
    void report_withoutPeriod_isUsageError() {
        Run r = run("audit", "report", dir.toString());
        assertThat(r.code()).isEqualTo(Exit.USAGE);
        assertThat(r.err()).contains("--since").contains("--until");
    }

    @Test
    void help_listsSearchExportReport() {
        Run r = run("audit", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("search").contains("export").contains("report");
        assertThat(run("--help").out()).contains("audit");
    }
}
