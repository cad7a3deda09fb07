package org.postern.audit.query;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.Comparator;

/**
 * Where a page ended: the key of its last record, {@code (time, gateway, seq)}, which names one
 * record of one gateway's trail (a gateway numbers its records once). The next page starts right
 * after that record in the merged order, so pages neither repeat nor skip a record, also while the
 * trails grow (a record appended later comes after the ones already read from its trail). Unlike
 * a skip count it does not depend on what the filter matched before, and an index can seek to it.
 *
 * <p>As a token ({@link #token()}, {@link #parse}) it is URL-safe base64 of {@code time seq gateway}:
 * opaque to the browser, safe in a query string and an HTML attribute without escaping.
 *
 * @param time    the record's {@code time}
 * @param gateway its {@code gateway} field, or empty when it has none (an old PKI file)
 * @param seq     its {@code seq}, or -1 when it has none
 */
public record PageCursor(Instant time, String gateway, long seq) {
    /** The merge order of {@link Trails} without the source number: to find the place again when the record is gone. */
    static final Comparator<PageCursor> ORDER = Comparator.comparing(PageCursor::time).thenComparing(PageCursor::gateway)
            .thenComparingLong(PageCursor::seq);

    public PageCursor {
        if (time == null || gateway == null) {
            throw new IllegalArgumentException("page cursor: expected a time and a gateway, found " + time + " and " + gateway);
        }
        if (seq < -1) {
            throw new IllegalArgumentException("page cursor: expected a seq of 0 or more (or -1 for none), found " + seq);
        }
    }

    /** The cursor just after {@code r}. */
    public static PageCursor of(AuditRecord r) {
        String g = r.text("gateway");
        return new PageCursor(r.time(), g == null ? "" : g, r.number("seq"));
    }

    /** Whether {@code r} is the record this cursor names. */
    public boolean names(AuditRecord r) {
        return r.time().equals(time) && r.number("seq") == seq && gateway.equals(r.text("gateway") == null ? "" : r.text("gateway"));
    }

    /** The cursor as a URL-safe token. */
    public String token() {
        return Base64.getUrlEncoder().withoutPadding().encodeToString((time + " " + seq + " " + gateway).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A token made by {@link #token()}.
     *
     * @throws IllegalArgumentException when {@code token} is not one
     */
    public static PageCursor parse(String token) {
        String expected = "page cursor: expected a token from a previous page, found \"" + abbreviate(token) + "\"";
        String text;
        try {
            text = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(expected + " (not base64url)");
        }
        String[] parts = text.split(" ", 3);
        if (parts.length != 3) {
            throw new IllegalArgumentException(expected + " (expected time, seq and gateway)");
        }
        try {
            return new PageCursor(Instant.parse(parts[0]), parts[2], Long.parseLong(parts[1]));
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new IllegalArgumentException(expected + " (" + e.getMessage() + ")");
        }
    }

    private static String abbreviate(String s) {
        String shown = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return shown.replaceAll("[^\\x20-\\x7e…]", "?");
    }
}
