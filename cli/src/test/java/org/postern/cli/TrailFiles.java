package org.postern.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** What a gateway process has written to its trail so far, read by the tests that run it as a process. */
public final class TrailFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrailFiles() {
    }

    /** Every record of the trail directory's segments, in file order; none when it does not exist yet. */
    public static List<JsonNode> records(Path trail) throws IOException {
        List<JsonNode> all = new ArrayList<>();
        if (!Files.isDirectory(trail)) {
            return all;
        }
        try (Stream<Path> files = Files.list(trail)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    if (line.startsWith("{")) {
                        all.add(JSON.readTree(line));
                    }
                }
            }
        }
        return all;
    }

    /** The records of one device. */
    public static List<JsonNode> records(Path trail, String device) throws IOException {
        return records(trail).stream().filter(r -> device.equals(r.path("device").asText(null))).toList();
    }

    /** As {@link #records(Path)}, for lambdas that may not throw. */
    public static List<JsonNode> recordsUnchecked(Path trail) {
        try {
            return records(trail);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
