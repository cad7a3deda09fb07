package org.postern.cli.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.cli.PosternCliIT;
import org.postern.cli.PosternCliIT.Run;
import org.postern.gateway.selfcheck.Selfcheck;

/**
 * The trail {@code postern pki} writes is the one {@code postern selfcheck} verifies: were the two paths
 * to drift apart, the check would report the PKI trail as "no trail yet" (an info) and never verify it.
 */
class SelfcheckPkiTrailTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path data;
    Path config;

    @BeforeEach
    void init() throws Exception {
        data = tmp.resolve("data");
        Path pass = Files.writeString(tmp.resolve("pass.txt"), "correct horse battery staple\n");
        Run init = PosternCliIT.run("pki", "init", "--dir", data.toString(), "--passphrase-file", pass.toString());
        assertThat(init.code()).as(init.err()).isZero();
        config = Files.writeString(tmp.resolve("gateway.yaml"), "gateway:\n  id: gw-test\ndataDir: data\n");
    }

    /** Every directory under DATA holding a trail segment: what the PKI commands wrote, wherever that is. */
    private List<Path> trailsWritten() throws Exception {
        try (Stream<Path> all = Files.walk(data)) {
            return all.filter(p -> p.getFileName().toString().startsWith("segment-")).map(Path::getParent).distinct().toList();
        }
    }

    private List<JsonNode> auditFindings() throws Exception {
        Run run = PosternCliIT.run("selfcheck", "--config", config.toString(), "--json");
        assertThat(run.err()).isEmpty();
        List<JsonNode> out = new ArrayList<>();
        JSON.readTree(run.out()).get("findings").forEach(f -> {
            if (f.get("check").asText().equals("audit-trail")) {
                out.add(f);
            }
        });
        return out;
    }

    @Test
    void pkiInit_writesItsTrail_whereSelfcheckVerifiesIt() throws Exception {
        List<Path> written = trailsWritten();
        assertThat(written).as("pki init wrote one trail").containsExactly(data.resolve(Selfcheck.PKI_TRAIL));
        assertThat(auditFindings()).extracting(f -> f.get("message").asText())
                .anyMatch(m -> m.startsWith("the audit trail " + written.getFirst() + " verifies: ") && m.contains(" records in 1 segment"));
    }

    @Test
    void pkiTrail_editedAfterInit_isCritical() throws Exception {
        Path segment;
        try (Stream<Path> s = Files.list(trailsWritten().getFirst())) {
            segment = s.filter(p -> p.getFileName().toString().startsWith("segment-")).findFirst().orElseThrow();
        }
        String text = Files.readString(segment, StandardCharsets.UTF_8);
        assertThat(text).contains("\"pki.init\"");
        Files.writeString(segment, text.replace("\"pki.init\"", "\"pki.inix\""), StandardCharsets.UTF_8);
        assertThat(auditFindings()).anySatisfy(f -> {
            assertThat(f.get("severity").asText()).isEqualTo("critical");
            assertThat(f.get("message").asText()).startsWith("the audit trail " + segment.getParent() + " is broken: ");
        });
    }
}
