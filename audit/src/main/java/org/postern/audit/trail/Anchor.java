package org.postern.audit.trail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.jspecify.annotations.Nullable;

/**
 * A record an auditor saw and kept outside the trail: its {@code seq} and, when known, the SHA-256
 * of its line (the lower-case hex that the next record carries as {@code prev}). A later
 * verification must find that same record at that place, so a trail cut or rewritten up to there
 * fails even when what is left chains and verifies on its own (docs/audit.md, "Anchors").
 *
 * <p>Written as {@code seq:N} or {@code seq:N,SHA256}; {@link #ofRecordLine} makes one from a
 * record line kept byte for byte (the last checkpoint forwarded to a SIEM, for one).
 */
public record Anchor(long seq, @Nullable String sha256) {
    private static final Pattern TEXT = Pattern.compile("seq:([0-9]{1,18})(?:,([0-9a-f]{64}))?");
    private static final JsonFactory JSON = new JsonFactory();

    public Anchor {
        if (seq < 1) {
            throw new IllegalArgumentException("anchor: expected a seq of 1 or more, found " + seq);
        }
        if (sha256 != null && !sha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("anchor: expected a SHA-256 as 64 lower-case hex digits, found \"" + sha256 + "\"");
        }
    }

    /** {@code seq:N,SHA256}, or {@code seq:N} without a hash: what {@link #parse} reads. */
    public String text() {
        return "seq:" + seq + (sha256 == null ? "" : "," + sha256);
    }

    @Override
    public String toString() {
        return text();
    }

    /**
     * Reads {@code seq:N}, {@code seq:N,SHA256} or a record line as written in the trail (one JSON
     * object; its hash is taken over its bytes without the line end).
     *
     * @throws IllegalArgumentException naming what was expected and what was found
     */
    public static Anchor parse(String text) {
        String t = text.strip();
        if (t.startsWith("{")) {
            return ofRecordLine(text.replaceFirst("[\r\n]+$", ""));
        }
        Matcher m = TEXT.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("anchor: expected seq:N or seq:N,SHA256 (64 lower-case hex digits) or a record line"
                    + " of the trail, found \"" + shorten(t) + "\"");
        }
        return new Anchor(Long.parseLong(m.group(1)), m.group(2));
    }

    /** The anchor of one record line, exactly as in the trail (without its {@code \n}). */
    public static Anchor ofRecordLine(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        long seq = -1;
        try (JsonParser p = JSON.createParser(bytes)) {
            if (p.nextToken() == JsonToken.START_OBJECT && p.nextToken() == JsonToken.FIELD_NAME && "seq".equals(p.currentName())
                    && p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
                seq = p.getLongValue();
            }
        } catch (IOException e) {
            seq = -1;
        }
        if (seq < 1) {
            throw new IllegalArgumentException("anchor: expected a record line of the trail starting {\"seq\":N, found \""
                    + shorten(line) + "\"");
        }
        return new Anchor(seq, TrailFormat.sha256Hex(bytes, 0, bytes.length));
    }

    /** At most 80 characters of what was found; whoever prints it to a terminal escapes it. */
    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }
}
