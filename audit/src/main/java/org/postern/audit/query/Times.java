package org.postern.audit.query;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * {@code --since}/{@code --until} values: an ISO instant ({@code 2026-11-30T08:00:00Z}, an offset
 * allowed; without one it is UTC), a UTC date ({@code 2026-11-30}), or a time relative to now
 * ({@code -24h}, {@code -7d}, {@code -30m}, {@code -2w}, {@code now}). {@code --since} is inclusive
 * and {@code --until} exclusive, except that a date given to {@code --until} includes that whole day.
 */
public final class Times {
    public static final String EXPECTED = "an ISO instant like 2026-11-30T08:00:00Z, a date like 2026-11-30, or a relative time like -24h or -7d";
    private static final Pattern RELATIVE = Pattern.compile("-(\\d{1,9})([smhdw])");

    private Times() {}

    /**
     * A start time (inclusive), or null when {@code text} is null.
     *
     * @param option names the value in the error ({@code --since}, a query parameter)
     * @throws IllegalArgumentException "OPTION: expected …, found "TEXT"" when it is none of the forms above
     */
    public static @Nullable Instant since(String option, @Nullable String text, Clock clock) {
        return parse(option, text, clock, false);
    }

    /** An end time (exclusive; a date includes its whole day), or null when {@code text} is null; errors as {@link #since}. */
    public static @Nullable Instant until(String option, @Nullable String text, Clock clock) {
        return parse(option, text, clock, true);
    }

    private static @Nullable Instant parse(String option, @Nullable String text, Clock clock, boolean endOfDay) {
        if (text == null) {
            return null;
        }
        String t = text.strip();
        if (t.equals("now")) {
            return clock.instant();
        }
        Matcher m = RELATIVE.matcher(t);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofDays(7 * n);
            };
            return clock.instant().minus(d);
        }
        try {
            if (t.length() == 10) {
                LocalDate day = LocalDate.parse(t);
                return (endOfDay ? day.plusDays(1) : day).atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            if (t.endsWith("Z") || t.endsWith("z")) {
                return Instant.parse(t.toUpperCase(java.util.Locale.ROOT));
            }
            if (t.matches(".*[+-]\\d{2}:?\\d{2}$")) {
                return OffsetDateTime.parse(t).toInstant();
            }
            return LocalDateTime.parse(t).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(option + ": expected " + EXPECTED + ", found \"" + text + "\"");
        }
    }
}
