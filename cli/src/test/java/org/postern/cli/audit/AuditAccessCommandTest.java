package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.cli.audit.AuditCommandTest.run;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.AuditSearch;
import org.postern.audit.query.Outcome;
import org.postern.audit.query.PageCursor;
import org.postern.audit.query.Trails;
import org.postern.cli.audit.AuditCommandTest.Run;

/** {@code --reason}, {@code postern audit access}, and the console's pages agreeing with {@code search}. */
class AuditAccessCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path dir;

    @BeforeEach
    void writeTrail() throws Exception {
        dir = tmp.resolve("audit");
        new TestTrail(dir)
                .add("2026-11-30T10:00:00.000Z", "posture.decision", "device", "laptop-1", "user", "alice", "result", "compliant",
                        "policyVersion", "7", "reasons", List.of())
                .add("2026-11-30T10:00:01.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", "alice", "via", "tls")
                .add("2026-11-30T10:05:00.000Z", "flow.open", "session", "s1", "flow", "f1", "device", "laptop-1", "user", "alice",
                        "dest", "db1.internal:5432", "destAddress", "10.0.0.5:5432")
                .add("2026-11-30T10:06:00.000Z", "access.denied", "session", "s1", "device", "laptop-1", "user", "alice",
                        "dest", "secret.internal:22", "reason", "policy.no_rule")
                .add("2026-11-30T10:07:00.000Z", "access.denied", "session", "s1", "device", "laptop-1", "user", "alice",
                        "dest", "db1.internal:5432", "reason", "access.outside_hours")
                .add("2026-11-30T10:08:00.000Z", "flow.open", "session", "s1", "flow", "f2", "device", "laptop-1", "user", "alice",
                        "dest", "wiki.internal:443", "destAddress", "10.0.0.6:443", "posture", "compliant", "posturePolicy", "8", "accessPolicy", "a4")
                .add("2026-11-30T11:00:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", "alice", "reason", "non_compliant");
    }

    private static List<JsonNode> lines(String out) throws Exception {
        List<JsonNode> list = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                list.add(JSON.readTree(line));
            }
        }
        return list;
    }

    @Test
    void reason_selectsTheExactReason_inSearchAndExport() throws Exception {
        Run search = run("audit", "search", dir.toString(), "--reason", "policy.no_rule", "--json");
        assertThat(search.code()).as(search.err()).isZero();
        assertThat(lines(search.out())).extracting(n -> n.get("dest").asText()).containsExactly("secret.internal:22");
        Run end = run("audit", "search", dir.toString(), "--reason", "non_compliant", "--json");
        assertThat(lines(end.out())).extracting(n -> n.get("type").asText()).containsExactly("session.end");
        Run export = run("audit", "export", dir.toString(), "--format", "jsonl", "--reason", "access.outside_hours");
        assertThat(lines(export.out())).hasSize(1).allMatch(n -> n.get("reason").asText().equals("access.outside_hours"));
        assertThat(run("audit", "search", "--help").out()).contains("--reason=CODE");
        assertThat(run("audit", "export", "--help").out()).contains("--reason=CODE");
    }

    @Test
    void access_table_and_json() throws Exception {
        Run table = run("audit", "access", dir.toString());
        assertThat(table.code()).as(table.err()).isZero();
        List<String> rows = table.out().lines().toList();
        assertThat(rows.getFirst()).startsWith("TIME").contains("USER", "DEVICE", "DEST", "VIA", "SESSION", "POSTURE", "POSTURE POLICY", "ACCESS POLICY")
                .doesNotContain("GATEWAY");
        assertThat(rows.get(1)).contains("2026-11-30T10:05:00Z", "alice", "laptop-1", "db1.internal:5432", "connect", "s1", "compliant", "7", "unknown");
        assertThat(rows.get(2)).contains("wiki.internal:443", "8", "a4");
        assertThat(rows.getLast()).isEqualTo("2 flows");

        Run json = run("audit", "access", dir.toString(), "--json", "--dest", "wiki.internal");
        List<JsonNode> flows = lines(json.out());
        assertThat(flows).hasSize(1);
        assertThat(flows.getFirst().get("flow").asText()).isEqualTo("f2");
        assertThat(flows.getFirst().get("posturePolicy").asText()).isEqualTo("8");
        assertThat(flows.getFirst().get("via").asText()).isEqualTo("connect");
        assertThat(run("audit", "--help").out()).contains("access");
    }

    /** The console's pages over the same trail and filter give the records search --json prints, in its order. */
    @Test
    void consolePages_matchSearch_forTheSameFilter() throws Exception {
        List<String> cli = lines(run("audit", "search", dir.toString(), "--json", "--user", "alice", "--outcome", "denied").out())
                .stream().map(JsonNode::toString).toList();
        AuditFilter same = new AuditFilter(null, null, null, "alice", List.of(), Outcome.DENIED, null, null, false);
        AuditSearch search = new AuditSearch(Trails.open(List.of(dir), List.of(), w -> { }));
        List<String> console = new ArrayList<>();
        PageCursor after = null;
        for (int i = 0; i < 10; i++) {
            AuditSearch.Page p = search.page(same, after, 1);
            p.records().forEach(r -> console.add(r.json().toString()));
            after = p.next();
            if (after == null) {
                break;
            }
        }
        assertThat(console).hasSize(3).containsExactlyElementsOf(cli);
    }
}
