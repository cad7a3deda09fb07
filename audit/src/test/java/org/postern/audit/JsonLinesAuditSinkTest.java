package org.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class JsonLinesAuditSinkTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant T = Instant.parse("2026-11-30T03:26:58.120456789Z");

    @TempDir
    Path dir;

    private Path file() {
        return dir.resolve("audit").resolve("pki-audit.jsonl");
    }

    private List<String> lines() throws IOException {
        return Files.readAllLines(file(), StandardCharsets.UTF_8);
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void record_writesOneJsonLineWithCommonFieldsThenEventFieldsInOrder() throws IOException {
        try (JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "pki@host")) {
            sink.record(AuditEvent.of("pki.enroll.denied", T).with("device", "laptop-0042").with("source", "127.0.0.1:51234")
                    .with("reason", "est.token_used").with("attempt", 2).with("groups", List.of("staff", "ops")).build());
        }

        assertThat(lines()).containsExactly("{\"seq\":1,\"time\":\"2026-11-30T03:26:58.120Z\",\"type\":\"pki.enroll.denied\","
                + "\"gateway\":\"pki@host\",\"device\":\"laptop-0042\",\"source\":\"127.0.0.1:51234\",\"reason\":\"est.token_used\","
                + "\"attempt\":2,\"groups\":[\"staff\",\"ops\"]}");
    }

    @Test
    void record_timeIsUtcWithMilliseconds_evenOnAWholeSecond() throws IOException {
        try (JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "test")) {
            sink.record(AuditEvent.of("pki.init", Instant.parse("2026-01-02T03:04:05Z")).build());
            sink.record(AuditEvent.of("pki.init", Instant.parse("2026-01-02T03:04:05.000999Z")).build());
            sink.record(AuditEvent.of("pki.init", Instant.parse("2026-01-02T03:04:05.5Z")).build());
        }

        assertThat(lines()).extracting(l -> JSON.readTree(l).path("time").asText())
                .containsExactly("2026-01-02T03:04:05.000Z", "2026-01-02T03:04:05.000Z", "2026-01-02T03:04:05.500Z");
    }

    @Test
    void builder_nullFields_areOmitted() throws IOException {
        AuditEvent event = AuditEvent.of("pki.enroll", T).with("device", "laptop-1").with("user", null)
                .with("certSerial", "1f").with("detail", null).build();
        assertThat(event.fields()).containsExactly(Map.entry("device", "laptop-1"), Map.entry("certSerial", "1f"));

        try (JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "test")) {
            sink.record(event);
        }

        JsonNode line = JSON.readTree(lines().getFirst());
        assertThat(fieldNames(line)).containsExactly("seq", "time", "type", "gateway", "device", "certSerial");
        assertThat(line.has("user")).isFalse();
    }

    @Test
    void event_fieldsAreACopy_laterChangesToTheMapDoNotLeakIn() {
        Map<String, Object> fields = new java.util.LinkedHashMap<>();
        fields.put("device", "laptop-1");
        AuditEvent event = new AuditEvent("pki.enroll", T, fields);
        fields.put("device", "laptop-2");

        assertThat(event.fields()).containsExactly(Map.entry("device", "laptop-1"));
        assertThatThrownBy(() -> event.fields().put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void reopen_seqContinuesAfterTheExistingLines() throws IOException {
        try (JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "test")) {
            sink.record(AuditEvent.of("pki.init", T).build());
            sink.record(AuditEvent.of("pki.token.create", T).build());
        }
        try (JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "test")) {
            sink.record(AuditEvent.of("pki.enroll", T).build());
        }

        assertThat(lines()).extracting(l -> JSON.readTree(l).path("seq").asLong()).containsExactly(1L, 2L, 3L);
        assertThat(lines()).extracting(l -> JSON.readTree(l).path("type").asText())
                .containsExactly("pki.init", "pki.token.create", "pki.enroll");
    }

    @Test
    void record_concurrentWriters_giveDistinctWholeLinesWithSeqOneToN() throws Exception {
        int threads = 8;
        int perThread = 100;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "test")) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String writer = "w" + t;
                done.add(pool.submit(() -> {
                    assertThat(go.await(10, TimeUnit.SECONDS)).isTrue();
                    for (int i = 0; i < perThread; i++) {
                        sink.record(AuditEvent.of("pki.enroll", T).with("device", writer + "-" + i).build());
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(20, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }

        int n = threads * perThread;
        List<String> lines = lines();
        assertThat(lines).hasSize(n).doesNotHaveDuplicates();
        List<Long> seqs = new ArrayList<>();
        Set<String> devices = new HashSet<>();
        for (String l : lines) {
            JsonNode node = JSON.readTree(l); // each line parses on its own: no interleaving
            seqs.add(node.path("seq").asLong());
            devices.add(node.path("device").asText());
        }
        assertThat(seqs).as("seq in file order").isSorted().containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, n).boxed().toList());
        assertThat(devices).hasSize(n);
    }

    @Test
    void event_typeNotDottedLowerCase_isRejectedNamingExpectedAndFound() {
        assertThatThrownBy(() -> AuditEvent.of("PKI Enroll", T).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("audit event type: expected dotted lower-case like pki.enroll, found \"PKI Enroll\"");
        assertThatThrownBy(() -> new AuditEvent("pki", T, Map.of()))
                .hasMessage("audit event type: expected dotted lower-case like pki.enroll, found \"pki\"");
    }

    @Test
    void event_missingTypeOrTime_isRejectedNamingTheField() {
        assertThatThrownBy(() -> new AuditEvent(null, T, Map.of())).isInstanceOf(NullPointerException.class).hasMessage("type");
        assertThatThrownBy(() -> new AuditEvent("pki.enroll", null, Map.of())).isInstanceOf(NullPointerException.class).hasMessage("time");
    }

    @Test
    void record_fieldNotSerialisable_isRejectedNamingTheEventAndWritesNothing() throws IOException {
        try (JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "test")) {
            assertThatThrownBy(() -> sink.record(AuditEvent.of("pki.enroll", T).with("device", new Object()).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("audit event pki.enroll has a field that is not JSON-serialisable: ");
            sink.record(AuditEvent.of("pki.enroll", T).with("device", "laptop-1").build());
        }

        assertThat(lines()).singleElement().satisfies(l -> assertThat(JSON.readTree(l).path("seq").asLong()).isEqualTo(1));
    }

    @Test
    void record_afterClose_throwsAuditUnavailableNamingTheFile() throws IOException {
        JsonLinesAuditSink sink = new JsonLinesAuditSink(file(), "test");
        sink.record(AuditEvent.of("pki.init", T).build());
        sink.close();

        assertThatThrownBy(() -> sink.record(AuditEvent.of("pki.enroll", T).with("device", "laptop-1").build()))
                .isInstanceOf(AuditUnavailableException.class)
                .hasMessageStartingWith("cannot write audit record to " + file() + ": ")
                .hasCauseInstanceOf(IOException.class);
        assertThat(lines()).hasSize(1);
    }

    @Test
    void open_pathIsADirectory_failsNamingIt() throws Exception {
        // A sink whose file is a directory cannot even be opened: that is the constructor's IOException.
        Path notAFile = Files.createDirectories(dir.resolve("is-a-directory"));
        assertThatThrownBy(() -> new JsonLinesAuditSink(notAFile, "test"))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(notAFile.toString());
    }
}
