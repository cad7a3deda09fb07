package org.postern.cli.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes a trail in the segment format: {@code seq}, {@code time}, {@code type}, {@code gateway},
 * the event fields, then {@code prev}, the SHA-256 of the previous line, chained across segments.
 */
final class TestTrail {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;
    private int segment = 0;
    private long seq = 0;
    private String prev = "0".repeat(64);

    TestTrail(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
        rotate();
    }

    TestTrail rotate() {
        segment++;
        return this;
    }

    Path segmentFile() {
        return dir.resolve(String.format("segment-%06d.jsonl", segment));
    }

    /** Appends one record; {@code fields} in order ({@code List}/array values become JSON arrays). */
    TestTrail add(String time, String type, Object... fields) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("seq", ++seq).put("time", time).put("type", type).put("gateway", "gw-1");
        for (int i = 0; i < fields.length; i += 2) {
            o.set((String) fields[i], JSON.valueToTree(fields[i + 1]));
        }
        o.put("prev", prev);
        String line = JSON.writeValueAsString(o);
        prev = sha256(line);
        raw(line);
        return this;
    }

    /** Appends a line as is (a damaged one, for the reader to skip). */
    TestTrail raw(String line) throws IOException {
        Files.writeString(segmentFile(), line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return this;
    }

    /** A pki-audit.jsonl style file: the same common fields, no chain. */
    @SafeVarargs
    static void pkiFile(Path file, Map<String, String>... events) throws IOException {
        StringBuilder b = new StringBuilder();
        long n = 0;
        for (Map<String, String> e : events) {
            ObjectNode o = JSON.createObjectNode();
            o.put("seq", ++n);
            e.forEach(o::put);
            b.append(JSON.writeValueAsString(o)).append('\n');
        }
        Files.writeString(file, b.toString(), StandardCharsets.UTF_8);
    }

    static String sha256(String line) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(line.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
