package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: merging several gateways' trails is streaming. Three trails of 100,000 records each
 * (about 75 MB) are exported by {@code postern audit export} in a JVM limited to a 32 MB heap;
 * holding the records, or one trail's records, would need several hundred megabytes and end in
 * an {@link OutOfMemoryError}.
 */
class AuditMergeHeapIT {
    private static final int PER_TRAIL = 100_000;
    private static final String HEAP = "-Xmx32m";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The trail's time format: exactly three fraction digits, so that the text sorts as the time. */
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    @TempDir
    Path tmp;

    @Test
    void export_threeTrailsOf100kRecords_inA32MbHeap_mergedInOrder() throws Exception {
        List<String> dirs = new ArrayList<>();
        for (int g = 1; g <= 3; g++) {
            dirs.add(writeTrail(tmp.resolve("gw-" + g), "gw-" + g, g).toString());
        }
        Path out = tmp.resolve("merged.jsonl");
        Path log = tmp.resolve("export.log");
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), HEAP,
                "-cp", System.getProperty("java.class.path"), "org.postern.cli.PosternCommand",
                "audit", "export", "--format", "jsonl", "--out", out.toString()));
        command.addAll(dirs);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(10, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log);
        assertThat(done).as("the export ended within 10 minutes; output: " + output).isTrue();
        assertThat(output).doesNotContain("OutOfMemoryError");
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("exported " + 3 * PER_TRAIL + " records to " + out);

        Map<String, Integer> perGateway = new HashMap<>();
        long n = 0;
        String previous = null;
        try (BufferedReader r = Files.newBufferedReader(out, StandardCharsets.UTF_8)) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                JsonNode rec = JSON.readTree(line);
                String key = rec.get("time").asText() + " " + rec.get("gateway").asText() + " " + String.format("%09d", rec.get("seq").asLong());
                if (previous != null) {
                    assertThat(key).as("record %d after %s", n, previous).isGreaterThan(previous);
                }
                previous = key;
                perGateway.merge(rec.get("gateway").asText(), 1, Integer::sum);
                n++;
            }
        }
        assertThat(n).isEqualTo(3L * PER_TRAIL);
        assertThat(perGateway).containsEntry("gw-1", PER_TRAIL).containsEntry("gw-2", PER_TRAIL).containsEntry("gw-3", PER_TRAIL);
    }

    /**
     * A trail in the segment format (chained by {@code prev}, in segments of 40,000 records), written
     * directly: the merge reads, it does not verify. Each gateway writes every 3 ms, gw-1 and gw-2 at
     * the same milliseconds (ties between trails), gw-3 a millisecond later; every 1,000th record has
     * the time of the one before (a tie within a trail).
     */
    private static Path writeTrail(Path dir, String gateway, int g) throws Exception {
        Files.createDirectories(dir);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        String prev = "0".repeat(64);
        Instant base = Instant.parse("2026-12-02T08:00:00Z");
        BufferedWriter w = null;
        try {
            for (int i = 0; i < PER_TRAIL; i++) {
                if (i % 40_000 == 0) {
                    if (w != null) {
                        w.close();
                    }
                    w = Files.newBufferedWriter(dir.resolve(String.format("segment-%06d.jsonl", i / 40_000 + 1)), StandardCharsets.UTF_8);
                }
                long ms = (i % 1000 == 999 ? i - 1 : i) * 3L + (g + 1) / 2;
                String line = "{\"seq\":" + (i + 1) + ",\"time\":\"" + TIME.format(base.plusMillis(ms)) + "\",\"type\":\"flow.close\",\"gateway\":\"" + gateway
                        + "\",\"session\":\"s-" + g + "-" + (i / 50) + "\",\"flow\":\"f-" + i + "\",\"device\":\"laptop-" + (i % 997) + "\",\"user\":\"user-"
                        + (i % 211) + "\",\"dest\":\"db" + (i % 13) + ".internal:5432\",\"destAddress\":\"10.0." + (i % 200) + ".5:5432\",\"bytesUp\":" + i
                        + ",\"bytesDown\":" + 7 * i + ",\"durationMs\":" + i % 5000 + ",\"how\":\"client_closed\",\"prev\":\"" + prev + "\"}";
                prev = HexFormat.of().formatHex(sha.digest(line.getBytes(StandardCharsets.UTF_8)));
                w.write(line);
                w.write('\n');
            }
        } finally {
            if (w != null) {
                w.close();
            }
        }
        return dir;
    }
}
