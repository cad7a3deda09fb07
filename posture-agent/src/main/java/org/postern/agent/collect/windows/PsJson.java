package org.postern.agent.collect.windows;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * Reads values the way {@code ConvertTo-Json} writes them, in Windows PowerShell 5.1 and in
 * PowerShell 7, so one parser serves both.
 *
 * <p>Dates come in three shapes: 5.1 writes {@code "\/Date(1712345678000)\/"} (milliseconds since
 * the epoch, UTC, sometimes with an informational {@code +0200} suffix); 7 writes ISO 8601
 * ({@code "2024-04-05T17:34:38.1234567Z"}, with an offset, or none when the DateTime's kind is
 * unspecified); and a DateTime that carries PowerShell's extended properties becomes an object
 * {@code {"value": …, "DisplayHint": 2, "DateTime": "Freitag, 5. April 2024 19:34:38"}} whose
 * {@code DateTime} text is localized — only {@code value} is read.
 */
final class PsJson {
    private static final Pattern MS_DATE = Pattern.compile("^/Date\\((-?\\d+)([+-]\\d{4})?\\)/$");

    private PsJson() {
    }

    /**
     * The instant a date node stands for; null when absent or JSON null. A naive ISO time (no
     * offset) is read as UTC: the collection script marks every date it emits as UTC.
     *
     * @throws IllegalArgumentException naming the text when it is none of the known shapes
     */
    static @Nullable Instant instant(@Nullable JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isObject()) {
            return instant(node.get("value"));
        }
        if (node.isNumber()) {
            return Instant.ofEpochMilli(node.asLong());
        }
        String text = node.asText().trim();
        Matcher m = MS_DATE.matcher(text);
        if (m.matches()) {
            return Instant.ofEpochMilli(Long.parseLong(m.group(1)));
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException notOffset) {
            try {
                return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC);
            } catch (DateTimeParseException notLocal) {
                throw new IllegalArgumentException("expected a date like \\/Date(1712345678000)\\/ or 2024-04-05T17:34:38Z, found \"" + text + "\"");
            }
        }
    }

    /** An integer node, or null when absent, JSON null or not an integer. */
    static @Nullable Long integer(@Nullable JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isIntegralNumber()) {
            return node.asLong();
        }
        if (node.isTextual() && node.asText().trim().matches("-?\\d+")) {
            return Long.parseLong(node.asText().trim());
        }
        return null;
    }

    /** A string node's text, or null when absent, JSON null or blank. */
    static @Nullable String text(@Nullable JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        String t = node.asText().trim();
        return t.isEmpty() ? null : t;
    }
}
