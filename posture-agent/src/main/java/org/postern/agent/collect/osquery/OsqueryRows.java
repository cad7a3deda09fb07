package org.postern.agent.collect.osquery;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * {@code osqueryi --json} output: an array of objects whose values are all JSON strings, even the
 * INTEGER columns ({@code "protection_status": "1"}). Read as text, converted where used.
 */
final class OsqueryRows {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OsqueryRows() {
    }

    /** @throws IllegalArgumentException when the output is not an array of objects */
    static List<Map<String, String>> parse(String output) {
        JsonNode root;
        try {
            root = output == null || output.isBlank() ? null : JSON.readTree(output);
        } catch (JsonProcessingException e) {
            root = null;
        }
        if (root == null || !root.isArray()) {
            String one = output == null ? "" : output.strip().replaceAll("\\s+", " ");
            throw new IllegalArgumentException("expected a JSON array of rows, found "
                    + (one.isEmpty() ? "nothing" : "\"" + (one.length() > 120 ? one.substring(0, 117) + "..." : one) + "\""));
        }
        List<Map<String, String>> rows = new ArrayList<>();
        for (JsonNode row : root) {
            if (!row.isObject()) {
                throw new IllegalArgumentException("expected a JSON array of rows, found an element " + row);
            }
            Map<String, String> values = new LinkedHashMap<>();
            row.properties().forEach(e -> values.put(e.getKey(), e.getValue().isNull() ? null : e.getValue().asText()));
            rows.add(Collections.unmodifiableMap(values));
        }
        return List.copyOf(rows);
    }

    /** An INTEGER column: "1" → 1; null when empty, absent or not a number. */
    static @Nullable Long integer(Map<String, String> row, String column) {
        String v = row.get(column);
        return v != null && v.strip().matches("-?\\d+") ? Long.parseLong(v.strip()) : null;
    }

    /** A TEXT column, null when empty or absent. */
    static @Nullable String text(Map<String, String> row, String column) {
        String v = row.get(column);
        return v == null || v.isBlank() ? null : v.strip();
    }
}
