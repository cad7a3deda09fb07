package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.cli.audit.AuditCommandTest.run;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
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
import org.postern.cli.Exit;
import org.postern.cli.audit.AuditCommandTest.Run;

/**
 * Issue 14: several gateways, each with its own signed trail written by the real writer;
 * {@code postern audit verify|search|export|report} over all of them, merged by time.
 */
class AuditMergeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path a;
    Path b;
    Path c;

    /**
     * Three gateways on one morning. gw-a and gw-b both start a session {@code s1} at the same
     * millisecond (ids are unique per gateway only); gw-c's clock steps back a minute (08:15 then 08:14).
     */
    @BeforeEach
    void writeTrails() throws Exception {
        try (GatewayTrail t = new GatewayTrail(tmp.resolve("gw-a"), "gw-a", Instant.parse("2026-12-02T08:00:00Z"))) {
            t.add("2026-12-02T08:00:00.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", "alice", "source", "203.0.113.5:50000", "via", "tls")
                    .add("2026-12-02T08:00:01.000Z", "posture.decision", "session", "s1", "device", "laptop-1", "user", "alice", "result", "compliant", "reasons", List.of())
                    .add("2026-12-02T08:00:05.000Z", "flow.open", "session", "s1", "flow", "f1", "device", "laptop-1", "user", "alice",
                            "dest", "db1.internal:5432", "destAddress", "10.0.0.5:5432")
                    .add("2026-12-02T08:10:00.000Z", "flow.close", "session", "s1", "flow", "f1", "device", "laptop-1", "user", "alice",
                            "dest", "db1.internal:5432", "destAddress", "10.0.0.5:5432", "bytesUp", 100, "bytesDown", 2000, "durationMs", 595000, "how", "client_closed")
                    .add("2026-12-02T08:20:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", "alice", "reason", "client_closed");
            a = t.trail;
        }
        try (GatewayTrail t = new GatewayTrail(tmp.resolve("gw-b"), "gw-b", Instant.parse("2026-12-02T08:00:00Z"))) {
            t.add("2026-12-02T08:00:00.000Z", "session.start", "session", "s1", "device", "laptop-2", "user", "bob", "source", "198.51.100.2:40000", "via", "tls")
                    .add("2026-12-02T08:00:02.000Z", "access.denied", "session", "s1", "device", "laptop-2", "user", "bob", "dest", "secret.internal:22",
                            "reason", "policy.no_rule", "detail", "no rule")
                    .add("2026-12-02T08:05:00.000Z", "tls.rejected", "source", "192.0.2.9:4000", "reason", "cert.unknown_ca")
                    .add("2026-12-02T08:30:00.000Z", "session.end", "session", "s1", "device", "laptop-2", "user", "bob", "reason", "revoked");
            b = t.trail;
        }
        try (GatewayTrail t = new GatewayTrail(tmp.resolve("gw-c"), "gw-c", Instant.parse("2026-12-02T08:00:03Z"))) {
            t.add("2026-12-02T08:00:03.000Z", "session.start", "session", "s9", "device", "laptop-3", "user", "carol", "source", "203.0.113.9:1000", "via", "tls")
                    .add("2026-12-02T08:15:00.000Z", "posture.decision", "session", "s9", "device", "laptop-3", "user", "carol",
                            "result", "non_compliant", "reasons", List.of("os.too_old"))
                    .add("2026-12-02T08:14:00.000Z", "access.denied", "session", "s9", "device", "laptop-3", "user", "carol", "dest", "db1.internal:5432",
                            "reason", "posture.no_lease", "detail", "no lease")
                    .add("2026-12-02T08:40:00.000Z", "session.end", "session", "s9", "device", "laptop-3", "user", "carol", "reason", "client_closed");
            c = t.trail;
        }
    }

    private static List<JsonNode> jsonLines(String out) throws Exception {
        List<JsonNode> list = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                list.add(JSON.readTree(line));
            }
        }
        return list;
    }

    private static List<String> gatewayAndType(List<JsonNode> records) {
        return records.stream().map(n -> n.get("gateway").asText() + " " + n.get("type").asText()).toList();
    }

    // ---- search: the merge

    @Test
    void search_threeTrails_mergedByTime_tiesByGateway_aClockStepKeepsItsTrailsOrder() throws Exception {
        Run r = run("audit", "search", a.toString(), b.toString(), c.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(gatewayAndType(jsonLines(r.out()))).containsExactly(
                "gw-a session.start", "gw-b session.start", // same millisecond: by gateway id
                "gw-a posture.decision", "gw-b access.denied", "gw-c session.start", "gw-a flow.open", "gw-b tls.rejected",
                "gw-a flow.close", "gw-c posture.decision",
                "gw-c access.denied", // 08:14, after gw-c's 08:15 record: a trail's own order is kept
                "gw-a session.end", "gw-b session.end", "gw-c session.end");
    }

    @Test
    void search_givenInAnotherOrder_givesTheSameOrder() {
        Run abc = run("audit", "search", a.toString(), b.toString(), c.toString(), "--json", "--include-checkpoints");
        Run cba = run("audit", "search", c.toString(), "--file", b.toString(), a.toString(), "--json", "--include-checkpoints");
        assertThat(cba.code()).as(cba.err()).isZero();
        assertThat(cba.out()).isEqualTo(abc.out());
    }

    /** The writer names the gateway on every line it writes, checkpoints included, and the merge shows them. */
    @Test
    void everyLineOfEveryTrail_namesItsGateway_checkpointsIncluded() throws Exception {
        Map<Path, String> trails = Map.of(a, "gw-a", b, "gw-b", c, "gw-c");
        for (Map.Entry<Path, String> t : trails.entrySet()) {
            List<String> lines = Files.readAllLines(t.getKey().resolve("segment-000001.jsonl"), StandardCharsets.UTF_8);
            assertThat(lines).hasSizeGreaterThan(4);
            for (String line : lines) {
                assertThat(JSON.readTree(line).path("gateway").asText()).as(line).isEqualTo(t.getValue());
            }
        }
        Run r = run("audit", "search", a.toString(), b.toString(), c.toString(), "--json", "--include-checkpoints", "--type", "audit.checkpoint");
        // gw-a: 08:10 (interval), 08:20 (interval), 08:20 (shutdown); at equal times by seq
        assertThat(jsonLines(r.out())).extracting(n -> n.get("gateway").asText() + " " + n.get("time").asText().substring(11, 16) + " " + n.get("reason").asText())
                .startsWith("gw-b 08:05 interval", "gw-a 08:10 interval", "gw-c 08:15 interval")
                .contains("gw-a 08:20 interval", "gw-a 08:20 shutdown", "gw-b 08:30 shutdown", "gw-c 08:40 shutdown");
    }

    @Test
    void search_filtersHoldAcrossTrails() throws Exception {
        Run denied = run("audit", "search", a.toString(), b.toString(), c.toString(), "--outcome", "denied", "--json");
        assertThat(gatewayAndType(jsonLines(denied.out()))).containsExactly(
                "gw-b access.denied", "gw-b tls.rejected", "gw-c posture.decision", "gw-c access.denied", "gw-b session.end");
        Run dest = run("audit", "search", a.toString(), b.toString(), c.toString(), "--dest", "db1.internal", "--since", "2026-12-02T08:05:00Z", "--json");
        assertThat(gatewayAndType(jsonLines(dest.out()))).containsExactly("gw-a flow.close", "gw-c access.denied");
        Run limit = run("audit", "search", a.toString(), b.toString(), c.toString(), "--type", "session.start", "--limit", "2", "--json");
        assertThat(gatewayAndType(jsonLines(limit.out()))).containsExactly("gw-a session.start", "gw-b session.start");
    }

    @Test
    void search_table_showsTheGatewayColumnOnlyForSeveralGateways() {
        Run several = run("audit", "search", a.toString(), b.toString(), "--type", "session.start");
        String[] lines = several.out().split("\n");
        assertThat(lines[0]).startsWith("TIME").contains("GATEWAY");
        assertThat(lines[1]).contains(" gw-a ").contains("session.start");
        assertThat(lines[2]).contains(" gw-b ");
        Run one = run("audit", "search", a.toString(), "--type", "session.start");
        assertThat(one.out().split("\n")[0]).doesNotContain("GATEWAY");
    }

    // ---- bad input

    @Test
    void search_aCopyOfATrail_isWarnedAbout() throws Exception {
        Path copy = tmp.resolve("copy-of-gw-a");
        Files.createDirectories(copy);
        try (var files = Files.list(a)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Run r = run("audit", "search", a.toString(), copy.toString(), b.toString(), "--json", "--type", "session.start");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("postern: warning: " + a + " and " + copy + " both hold records of gateway \"gw-a\": expected one trail per gateway")
                .contains("records may be shown twice");
        assertThat(gatewayAndType(jsonLines(r.out()))).containsExactly("gw-a session.start", "gw-a session.start", "gw-b session.start");
    }

    @Test
    void search_aDataDirectoryInsteadOfItsTrail_namesWhatItHoldsAndTheTrailBelow() {
        Run r = run("audit", "search", a.toString(), tmp.resolve("gw-b").toString());
        assertThat(r.code()).isEqualTo(Exit.USAGE);
        assertThat(r.err()).contains("audit directory " + tmp.resolve("gw-b") + ": expected segment-NNNNNN.jsonl files, found none"
                + " (it holds audit.key, audit.pub, audit/; the trail is probably " + b + ";");
        Path empty = tmp.resolve("empty");
        Run none = run("audit", "export", a.toString(), empty.toString(), "--format", "csv");
        assertThat(none.code()).isEqualTo(Exit.USAGE);
        assertThat(none.err()).contains("audit directory " + empty + ": expected a directory of segment-NNNNNN.jsonl files, found nothing there");
    }

    @Test
    void search_aDamagedLineInOneOfSeveralTrails_isSkippedNamingThatTrail() throws Exception {
        Path seg = b.resolve("segment-000001.jsonl");
        Files.writeString(seg, Files.readString(seg).replaceFirst("\"type\":\"tls.rejected\"", "\"type\":"));
        Run r = run("audit", "search", a.toString(), b.toString(), "--json");
        assertThat(r.code()).isZero();
        assertThat(r.err()).containsPattern("postern: skipping segment-000001\\.jsonl:\\d+ \\(trail " + java.util.regex.Pattern.quote(b.toString()) + "\\): not JSON");
    }

    // ---- export: every format names the gateway

    @Test
    void export_everyFormat_carriesTheGatewayOfEveryRecord() throws Exception {
        String[] dirs = {a.toString(), b.toString(), c.toString()};
        List<String> expected = gatewayAndType(jsonLines(run(concat(new String[] {"audit", "search", "--json"}, dirs)).out()))
                .stream().map(s -> s.substring(0, s.indexOf(' '))).toList();
        assertThat(expected).hasSize(13);

        Run jsonl = run(concat(new String[] {"audit", "export", "--format", "jsonl"}, dirs));
        assertThat(jsonLines(jsonl.out())).extracting(n -> n.get("gateway").asText()).containsExactlyElementsOf(expected);

        Run csv = run(concat(new String[] {"audit", "export", "--format", "csv"}, dirs));
        try (CSVParser p = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(new StringReader(csv.out().substring(1)))) {
            assertThat(p.getRecords()).extracting(x -> x.get("gateway")).containsExactlyElementsOf(expected);
        }

        Run cef = run(concat(new String[] {"audit", "export", "--format", "cef"}, dirs));
        assertThat(cef.out().split("\n")).extracting(l -> CefLines.extension(CefLines.header(l).get(7)).get("dvchost")).containsExactlyElementsOf(expected);

        Run ocsf = run(concat(new String[] {"audit", "export", "--format", "ocsf"}, dirs));
        assertThat(jsonLines(ocsf.out())).extracting(n -> n.at("/metadata/log_provider").asText()).containsExactlyElementsOf(expected);
    }

    private static String[] concat(String[] x, String[] y) {
        String[] all = new String[x.length + y.length];
        System.arraycopy(x, 0, all, 0, x.length);
        System.arraycopy(y, 0, all, x.length, y.length);
        return all;
    }

    // ---- report

    @Test
    void report_severalTrails_sumsThemWithAPerGatewayTable() {
        Run r = run("audit", "report", a.toString(), b.toString(), c.toString(), "--since", "2026-12-02", "--until", "2026-12-02");
        assertThat(r.code()).as(r.err()).isZero();
        String out = r.out().replaceAll(" +", " ");
        // s1 on gw-a (alice, 20 min) and s1 on gw-b (bob, 30 min) are two sessions: ids pair within their gateway
        assertThat(out).contains("2026-12-02 alice 1 0.33\n").contains("2026-12-02 bob 1 0.50\n").contains("2026-12-02 carol 1 0.67\n");
        assertThat(out).contains("Per gateway")
                .contains("GATEWAY SESSIONS HOURS DENIALS DECISIONS COMPLIANT RATE\n")
                .contains("gw-a 1 0.33 0 1 1 100.0%\n")
                .contains("gw-b 1 0.50 3 0 0 -\n")
                .contains("gw-c 1 0.67 2 1 0 0.0%\n")
                .contains("total 3 1.50 5 2 1 50.0%\n");
        assertThat(out).contains("period 1 2 50.0%\n");
        Run one = run("audit", "report", a.toString(), "--since", "2026-12-02", "--until", "2026-12-02");
        assertThat(one.out()).doesNotContain("Per gateway");
    }

    @Test
    void report_csv_hasAGatewayColumnAndPerGatewayMetrics() throws Exception {
        Run r = run("audit", "report", a.toString(), b.toString(), c.toString(), "--since", "2026-12-02", "--until", "2026-12-02", "--csv");
        assertThat(r.code()).as(r.err()).isZero();
        List<CSVRecord> rows;
        try (CSVParser p = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(new StringReader(r.out().substring(1)))) {
            assertThat(p.getHeaderNames()).containsExactly("metric", "day", "user", "device", "type", "reason", "value", "gateway");
            rows = p.getRecords();
        }
        Map<String, String> values = new LinkedHashMap<>();
        rows.forEach(x -> values.put(x.get("metric") + "/" + x.get("gateway") + "/" + x.get("user"), x.get("value")));
        assertThat(values).containsEntry("gateway_sessions/gw-b/", "1").containsEntry("gateway_connected_hours/gw-c/", "0.67")
                .containsEntry("gateway_denials/gw-b/", "3").containsEntry("gateway_posture_decisions/gw-a/", "1")
                .containsEntry("gateway_posture_compliant/gw-c/", "0").containsEntry("sessions//alice", "1");
    }

    /** A gateway killed without restart: its open session counts until that gateway's last record, not the others'. */
    @Test
    void report_openSessionOfADeadGateway_endsAtItsOwnLastRecord() throws Exception {
        Path dead;
        try (GatewayTrail t = new GatewayTrail(tmp.resolve("gw-d"), "gw-d", Instant.parse("2026-12-02T08:00:00Z"))) {
            t.add("2026-12-02T08:00:00.000Z", "session.start", "session", "s5", "device", "laptop-5", "user", "dan", "via", "tls")
                    .add("2026-12-02T08:06:00.000Z", "posture.decision", "session", "s5", "device", "laptop-5", "user", "dan", "result", "compliant");
            dead = t.trail;
        }
        Run r = run("audit", "report", a.toString(), c.toString(), dead.toString(), "--since", "2026-12-02", "--until", "2026-12-02");
        // gw-d's last record is its shutdown checkpoint at 08:06; gw-c goes on until 08:40
        assertThat(r.out().replaceAll(" +", " ")).contains("2026-12-02 dan 1 0.10\n");
    }

    // ---- verify

    @Test
    void verify_threeTrails_eachWithItsOwnKey_allOk() {
        Run r = run("audit", "verify", a.toString(), b.toString(), c.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("== trail " + a + "\nOK: 8 records in 1 segments, 3 checkpoints")
                .contains("gateway: gw-b\nkey: " + tmp.resolve("gw-b/audit.pub"))
                .contains("3 trails: 3 OK, 0 broken, 0 not checked");
        String table = r.out().replaceAll(" +", " ");
        assertThat(table).contains("GATEWAY TRAIL RESULT RECORDS FIRST BREAK\n").contains("gw-a " + a + " OK 8 -\n")
                .contains("gw-c " + c + " OK ");
    }

    @Test
    void verify_oneTrailTampered_namesThatTrailsFirstBreak_exit1_othersOk() throws Exception {
        Path seg = b.resolve("segment-000001.jsonl");
        List<String> lines = Files.readAllLines(seg, StandardCharsets.UTF_8);
        lines.set(1, lines.get(1).replace("\"user\":\"bob\"", "\"user\":\"eve\""));
        Files.write(seg, lines, StandardCharsets.UTF_8);
        Run r = run("audit", "verify", a.toString(), b.toString(), c.toString());
        assertThat(r.code()).isEqualTo(Exit.REFUSED);
        String table = r.out().replaceAll(" +", " ");
        assertThat(table).contains("gw-a " + a + " OK ").contains("gw-c " + c + " OK ")
                .containsPattern("gw-b " + java.util.regex.Pattern.quote(b.toString()) + " BROKEN \\d+ edited at segment-000001\\.jsonl:2 \\(seq 2\\)");
        assertThat(r.out()).contains("3 trails: 2 OK, 1 broken, 0 not checked");
        assertThat(r.err()).contains("BROKEN: gateway gw-b, " + b + ": edited at segment-000001.jsonl:2 (seq 2)");
    }

    @Test
    void verify_aMissingTrailAmongOthers_isExit2_butTheOthersAreVerified() {
        Path nothing = tmp.resolve("gw-x/audit/trail");
        Run r = run("audit", "verify", a.toString(), nothing.toString());
        assertThat(r.code()).isEqualTo(Exit.USAGE);
        assertThat(r.out()).contains("gw-a").contains(" OK ").contains("ERROR: expected DIR to be an audit trail directory, found nothing at " + nothing)
                .contains("2 trails: 1 OK, 0 broken, 1 not checked");
    }

    @Test
    void verify_aDataDirectoryInsteadOfItsTrail_failsNamingWhatItHolds() {
        Path data = tmp.resolve("gw-b");
        Run r = run("audit", "verify", a.toString(), data.toString());
        assertThat(r.code()).isEqualTo(Exit.REFUSED);
        assertThat(r.err()).contains("BROKEN: gateway -, " + data + ": empty: no segment files in " + data
                + ": expected at least segment-000001.jsonl (every segment was deleted, or this is not the trail)"
                + " (it holds audit.key, audit.pub, audit/; the trail is probably " + b + ")");
    }

    @Test
    void verify_perTrailOptions_pairWithTheDirsInOrder() throws Exception {
        Path anchorA = tmp.resolve("anchor-a.txt");
        Path anchorB = tmp.resolve("anchor-b.txt");
        Run saved = run("audit", "verify", a.toString(), b.toString(), "--save-anchor", anchorA.toString(), "--save-anchor", anchorB.toString(),
                "--pubkey", tmp.resolve("gw-a/audit.pub").toString(), "--pubkey", tmp.resolve("gw-b/audit.pub").toString());
        assertThat(saved.code()).as(saved.out() + saved.err()).isZero();
        Run again = run("audit", "verify", a.toString(), b.toString(), "--anchor", anchorA.toString(), "--anchor", anchorB.toString());
        assertThat(again.code()).as(again.out() + again.err()).isZero();
        assertThat(again.out()).contains("anchor " + Files.readString(anchorA).strip() + ": found")
                .contains("anchor " + Files.readString(anchorB).strip() + ": found");
        // the anchors swapped: each is another gateway's record
        Run swapped = run("audit", "verify", a.toString(), b.toString(), "--anchor", anchorB.toString(), "--anchor", anchorA.toString());
        assertThat(swapped.code()).isEqualTo(Exit.REFUSED);
        // one key for two gateways: gw-b's trail is signed by another key
        Run oneKey = run("audit", "verify", a.toString(), b.toString(), "--pubkey", tmp.resolve("gw-a/audit.pub").toString());
        assertThat(oneKey.code()).isEqualTo(Exit.REFUSED);
        assertThat(oneKey.out()).contains("BROKEN: wrong_key");

        Run count = run("audit", "verify", a.toString(), b.toString(), c.toString(), "--anchor", "seq:1");
        assertThat(count.code()).isEqualTo(Exit.USAGE);
        assertThat(count.err()).contains("--anchor: expected none or one per DIR (3, in the order of the DIRs), found 1");
        Run keys = run("audit", "verify", a.toString(), b.toString(), c.toString(), "--pubkey", "x", "--pubkey", "y");
        assertThat(keys.err()).contains("--pubkey: expected one for every DIR or one per DIR (3, in the order of the DIRs), found 2");
    }

    @Test
    void verify_twoTrailsOfOneGateway_areWarnedAbout() throws Exception {
        Path copy = Files.createDirectories(tmp.resolve("gw-a-copy/audit/trail"));
        try (var files = Files.list(a)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("segment-")).toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Run r = run("audit", "verify", a.toString(), copy.toString(), "--pubkey", tmp.resolve("gw-a/audit.pub").toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("warning: " + a + " and " + copy + " are both trails of gateway gw-a: expected one trail per gateway");
    }

    @Test
    void verify_oneTrail_printsAsBefore() {
        Run r = run("audit", "verify", a.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("OK: 8 records in 1 segments, 3 checkpoints").doesNotContain("== trail").doesNotContain("GATEWAY");
    }
}
