package org.postern.audit.trail;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jspecify.annotations.Nullable;

/**
 * The records a trail holds after the last record of some kind: what a writer that reopens its
 * trail reads to learn what its previous run left unfinished (the gateway: sessions and flows
 * still open after its last {@code gateway.stop} or {@code gateway.recovered}). Reads the segment
 * files from the newest back to the one holding that record, then forward from it, one line at a
 * time; only lines of the wanted types are parsed. Lines that are not records are skipped (whether
 * the chain is whole is {@link AuditVerifier}'s question).
 */
public final class TrailSince {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What the read found.
     *
     * @param boundary whether a record of a boundary type was found (else the whole trail was read)
     * @param lastSeq  the {@code seq} of the trail's last record before this writer's own, 0 when none
     * @param lastTime the {@code time} of that record, or null when the trail had none: when its
     *                 previous writer was last known alive
     */
    public record Tail(boolean boundary, long lastSeq, @Nullable Instant lastTime) {
    }

    private TrailSince() {
    }

    /**
     * Hands {@code each} every record after the last record whose type is in {@code boundaries},
     * in trail order, if its type is in {@code wanted}. The {@code audit.torn_tail} record that an
     * opening writer adds itself does not count as the previous writer's last record.
     */
    public static Tail readAfterLast(Path dir, Set<String> boundaries, Set<String> wanted, Consumer<JsonNode> each)
            throws IOException {
        List<Path> segments = new ArrayList<>();
        try (var files = Files.list(dir)) {
            files.filter(p -> TrailFormat.segmentNumber(p.getFileName().toString()) > 0).forEach(segments::add);
        }
        segments.sort(Comparator.comparing((Path p) -> p.getFileName().toString()));
        int from = 0;
        long skip = 0;
        boolean found = false;
        for (int i = segments.size() - 1; i >= 0 && !found; i--) {
            long line = 0;
            long lastBoundary = -1;
            try (BufferedReader r = Files.newBufferedReader(segments.get(i), StandardCharsets.UTF_8)) {
                for (String l; (l = r.readLine()) != null; line++) {
                    String type = typeOf(l);
                    if (type != null && boundaries.contains(type)) {
                        lastBoundary = line;
                    }
                }
            }
            if (lastBoundary >= 0) {
                found = true;
                from = i;
                skip = lastBoundary + 1;
            }
        }
        long lastSeq = 0;
        Instant lastTime = null;
        for (int i = from; i < segments.size(); i++) {
            try (BufferedReader r = Files.newBufferedReader(segments.get(i), StandardCharsets.UTF_8)) {
                long line = 0;
                for (String l; (l = r.readLine()) != null; line++) {
                    String type = typeOf(l);
                    if (type == null || TrailFormat.TORN_TAIL_TYPE.equals(type)) {
                        continue;
                    }
                    if (i == from && line < skip) {
                        continue;
                    }
                    if (wanted.contains(type)) {
                        JsonNode n = parse(l);
                        if (n != null) {
                            each.accept(n);
                        }
                    }
                    JsonNode head = parse(l.substring(0, l.indexOf(",\"type\":")) + "}");
                    Instant t = head == null ? null : timeOf(head);
                    if (t != null) {
                        lastSeq = head.path("seq").asLong();
                        lastTime = t;
                    }
                }
            }
        }
        if (found && lastTime == null) {
            // nothing after the boundary: the boundary itself is the last record
            lastTime = lastRecordTime(segments.get(from), skip - 1);
        }
        return new Tail(found, lastSeq, lastTime);
    }

    private static @Nullable Instant lastRecordTime(Path segment, long lineNumber) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(segment, StandardCharsets.UTF_8)) {
            long line = 0;
            for (String l; (l = r.readLine()) != null; line++) {
                if (line == lineNumber) {
                    JsonNode n = parse(l);
                    return n == null ? null : timeOf(n);
                }
            }
        }
        return null;
    }

    private static @Nullable Instant timeOf(JsonNode record) {
        try {
            return Instant.parse(record.path("time").asText());
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    /** The type of a record line without parsing it all: records start {@code {"seq":N,"time":"…","type":"…"}. */
    private static @Nullable String typeOf(String line) {
        int at = line.indexOf(",\"type\":\"");
        if (!line.startsWith("{\"seq\":") || at < 0) {
            return null;
        }
        int start = at + 9;
        int end = line.indexOf('"', start);
        return end < 0 ? null : line.substring(start, end);
    }

    private static @Nullable JsonNode parse(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            return n != null && n.isObject() && n.has("seq") && n.has("time") ? n : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
