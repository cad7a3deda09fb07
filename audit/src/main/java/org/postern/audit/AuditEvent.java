package org.postern.audit;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One audit event: a stable type such as {@code pki.enroll}, the time it happened, and its
 * fields ({@code device}, {@code certSerial}, {@code reason}, …). Field names are documented in
 * {@code docs/audit.md}; values are strings, numbers, booleans or lists of those.
 */
public record AuditEvent(String type, Instant time, Map<String, Object> fields) {

    public AuditEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(time, "time");
        if (!type.matches("[a-z]+(\\.[a-z_]+)+")) {
            throw new IllegalArgumentException("audit event type: expected dotted lower-case like pki.enroll, found \"" + type + "\"");
        }
        for (String reserved : RESERVED) {
            if (fields.containsKey(reserved)) {
                throw new IllegalArgumentException("audit field: \"" + reserved + "\" is written by the trail itself; expected another name");
            }
        }
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    public static Builder of(String type, Instant time) {
        return new Builder(type, time);
    }

    /** Collects fields in order, skipping nulls so "where known" fields simply stay absent. */
    /** Names every record carries, set by the sink, never by an event. */
    public static final java.util.Set<String> RESERVED = java.util.Set.of("seq", "time", "type", "gateway", "prev", "hash");

    public static final class Builder {
        private final String type;
        private final Instant time;
        private final Map<String, Object> fields = new LinkedHashMap<>();

        private Builder(String type, Instant time) {
            this.type = type;
            this.time = time;
        }

        public Builder with(String name, Object value) {
            if (RESERVED.contains(name)) {
                throw new IllegalArgumentException("audit field: \"" + name + "\" is written by the trail itself; expected another name");
            }
            if (value != null) {
                fields.put(name, value);
            }
            return this;
        }

        public AuditEvent build() {
            return new AuditEvent(type, time, fields);
        }
    }
}
