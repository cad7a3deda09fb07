package org.postern.audit;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
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

    /** Names every record carries, set by the sink, never by an event. */
    public static final java.util.Set<String> RESERVED = java.util.Set.of("seq", "time", "type", "gateway", "prev", "hash");

    /** Characters kept of a text a peer chose (an authority, a host, a login, a client version). */
    public static final int PEER_TEXT_MAX = 256;
    /** Characters kept of any text value, whatever it holds: a detail quoting peer text stays bounded too. */
    public static final int FIELD_MAX = 2048;

    /**
     * Text a peer chose, cut for the trail: at most {@link #PEER_TEXT_MAX} characters, then
     * {@code …(+N chars)} saying how many were left out. Every field and detail that quotes peer
     * input goes through this, so an unauthenticated peer cannot make a record large.
     */
    public static String peerText(String text) {
        return cut(text, PEER_TEXT_MAX);
    }

    /**
     * A header value a peer sent, as HTTP decoders hand it over (one character per byte, ISO-8859-1),
     * turned back into the text the peer meant: its bytes read as UTF-8, a byte that is not part of a
     * valid sequence shown as {@code \xNN}; then cut like {@link #peerText}. So an auditor reads
     * {@code ü} where the peer sent {@code ü}, never {@code Ã¼}, and invalid bytes stay visible.
     */
    public static String peerHeader(String latin1) {
        if (latin1.chars().allMatch(c -> c < 0x80)) {
            return peerText(latin1);
        }
        ByteBuffer in = ByteBuffer.wrap(latin1.getBytes(StandardCharsets.ISO_8859_1));
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer out = CharBuffer.allocate(in.remaining());
        StringBuilder text = new StringBuilder(in.remaining());
        while (true) {
            CoderResult r = utf8.decode(in, out, true);
            text.append(out.flip());
            out.clear();
            if (r.isUnderflow()) {
                break;
            }
            for (int i = 0; i < r.length(); i++) {
                text.append(String.format("\\x%02x", in.get() & 0xff));
            }
        }
        return peerText(text.toString());
    }

    /** {@code text} cut to {@code max} characters (never inside a surrogate pair), marked with what was left out. */
    static String cut(String text, int max) {
        if (text.length() <= max) {
            return text;
        }
        int keep = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
        return text.substring(0, keep) + "…(+" + (text.length() - keep) + " chars)";
    }

    private static Object capped(Object value) {
        return switch (value) {
            case String s -> cut(s, FIELD_MAX);
            case java.util.List<?> list -> list.stream().map(v -> v instanceof String s ? cut(s, FIELD_MAX) : v).toList();
            default -> value;
        };
    }

    /**
     * Collects fields in order, skipping nulls so "where known" fields simply stay absent. Text
     * values longer than {@link #FIELD_MAX} characters are cut ({@link #peerText} explains the mark).
     */

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
                fields.put(name, capped(value));
            }
            return this;
        }

        public AuditEvent build() {
            return new AuditEvent(type, time, fields);
        }
    }
}
