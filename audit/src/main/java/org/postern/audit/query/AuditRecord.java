package org.postern.audit.query;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.jspecify.annotations.Nullable;

/**
 * One line of the trail as read: the JSON object, where it came from, and its parsed time.
 *
 * @param json     the record exactly as written (field order kept); not to be changed
 * @param location {@code file:line}, for messages
 * @param time     the record's {@code time}
 */
public record AuditRecord(ObjectNode json, String location, Instant time) {

    /** The record's {@code type}, like {@code flow.open}. */
    public String type() {
        return text("type");
    }

    /** A field as text, or null when absent or JSON null; arrays are joined with commas. */
    public @Nullable String text(String field) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull() || n.isMissingNode()) {
            return null;
        }
        if (n.isArray()) {
            List<String> parts = new ArrayList<>();
            n.forEach(e -> parts.add(e.isValueNode() ? e.asText() : e.toString()));
            return String.join(",", parts);
        }
        return n.isValueNode() ? n.asText() : n.toString();
    }

    /** A numeric field, or -1 when absent or not a number. */
    public long number(String field) {
        JsonNode n = json.get(field);
        return n != null && n.canConvertToLong() ? n.asLong() : -1;
    }

    /** A signed checkpoint of the trail: left out of searches unless asked for. */
    public boolean isCheckpoint() {
        return "audit.checkpoint".equals(type());
    }
}
