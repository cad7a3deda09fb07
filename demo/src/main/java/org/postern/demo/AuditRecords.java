package org.postern.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.jspecify.annotations.Nullable;

/** The audit trail's records as the demo reads them back: straight from the segment files. */
final class AuditRecords {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditRecords() {
    }

    static @Nullable JsonNode awaitRecord(Path trail, String type, String device, Duration within) throws IOException, InterruptedException {
        long until = System.nanoTime() + within.toNanos();
        while (true) {
            for (JsonNode n : records(trail)) {
                if (n.path("type").asText().equals(type) && n.path("device").asText().equals(device)
                        && n.path("reason").asText().equals("revoked")) {
                    return n;
                }
            }
            if (System.nanoTime() > until) {
                return null;
            }
            Thread.sleep(100); // polling a file another component appends to
        }
    }

    static List<String> types(Path trail) throws IOException {
        return records(trail).stream().map(n -> n.path("type").asText()).toList();
    }

    static List<JsonNode> records(Path trail) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(trail)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (!line.isBlank()) {
                        out.add(JSON.readTree(line));
                    }
                }
            }
        }
        return out;
    }

    static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 197) + "…" : s;
    }
}
