package org.postern.audit.query;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes a trail by hand in the segment format, as cli's TestTrail does: {@code seq}, {@code time},
 * {@code type}, {@code gateway}, the event fields, then {@code prev}, chained across segments.
 * Used by the query, export and report tests of this module.
 */
public final class TestTrail {
    private static final ObjectMapper JSON = new ObjectMapper();
    public final Path dir;
    private final String gateway;
    private int segment = 1;
    private long seq = 0;
    private String prev = "0".repeat(64);

    public TestTrail(Path dir, String gateway) {
        try {
            this.dir = Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.gateway = gateway;
    }

    public TestTrail rotate() {
        segment++;
        return this;
    }

    /** Appends one record; {@code fields} in pairs ({@code List} values become JSON arrays). */
    public TestTrail add(String time, String type, Object... fields) {
        ObjectNode o = JSON.createObjectNode();
        o.put("seq", ++seq).put("time", time).put("type", type).put("gateway", gateway);
        for (int i = 0; i < fields.length; i += 2) {
            o.set((String) fields[i], JSON.valueToTree(fields[i + 1]));
        }
        o.put("prev", prev);
        try {
            String line = JSON.writeValueAsString(o);
            prev = sha256(line);
            Files.writeString(dir.resolve(String.format("segment-%06d.jsonl", segment)), line + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** The trails in {@code dirs}, warnings kept in {@code warnings}. */
    public static Trails open(List<String> warnings, Path... dirs) {
        return Trails.open(List.of(dirs), List.of(), warnings::add);
    }

    /** Every record of {@code s}, in order (a test's small trail only). */
    public static List<AuditRecord> all(RecordStream s) {
        List<AuditRecord> list = new ArrayList<>();
        try (s) {
            for (AuditRecord r = s.next(); r != null; r = s.next()) {
                list.add(r);
            }
        }
        return list;
    }

    static String sha256(String line) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(line.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
