package org.postern.config;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them in config files: {@code 500ms}, {@code 30s}, {@code 10m},
 * {@code 24h}, {@code 90d}, and combinations from the largest unit down such as {@code 1h30m}.
 * A day is 24 hours (no calendar or time-zone arithmetic). Negative values, fractions, spaces
 * and missing units are rejected: {@code 10} could mean seconds or minutes, so it is an error.
 */
public final class Durations {

    static final String EXPECTED = "a duration like 10m";

    // "ms" comes before "m" and "s" so that 500ms is not read as 500m followed by garbage.
    private static final Pattern PART = Pattern.compile("(\\d{1,18})(ms|s|m|h|d)");

    private Durations() {
    }

    /**
     * Parses {@code text}.
     *
     * @throws InvalidValueException {@code expected a duration like 10m, found "ten"}
     */
    public static Duration parse(String text) {
        Objects.requireNonNull(text, "text");
        if (text.isEmpty()) {
            throw new InvalidValueException(EXPECTED, text);
        }
        Matcher m = PART.matcher(text);
        Duration total = Duration.ZERO;
        int previousRank = Integer.MAX_VALUE;
        int pos = 0;
        try {
            while (pos < text.length()) {
                m.region(pos, text.length());
                if (!m.lookingAt()) {
                    throw new InvalidValueException(EXPECTED, text);
                }
                long amount = Long.parseLong(m.group(1));
                int rank = rank(m.group(2));
                // Units must go down (1h30m, not 30m1h or 1h1h): a repeated or reversed unit is
                // more likely a typo than an intent.
                if (rank >= previousRank) {
                    throw new InvalidValueException(EXPECTED, text);
                }
                previousRank = rank;
                total = total.plus(of(amount, m.group(2)));
                pos = m.end();
            }
        } catch (ArithmeticException e) {
            throw new InvalidValueException(EXPECTED, text);
        }
        return total;
    }

    /**
     * Writes {@code d} the way {@link #parse} reads it, largest unit first: {@code 90d},
     * {@code 1h30m}, {@code 500ms}, {@code 0s}. Durations that have no such form (negative,
     * or finer than a millisecond) fall back to ISO-8601.
     */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.isNegative() || d.getNano() % 1_000_000 != 0) {
            return d.toString();
        }
        StringBuilder sb = new StringBuilder();
        append(sb, d.toDaysPart(), "d");
        append(sb, d.toHoursPart(), "h");
        append(sb, d.toMinutesPart(), "m");
        append(sb, d.toSecondsPart(), "s");
        append(sb, d.toMillisPart(), "ms");
        return sb.toString();
    }

    private static void append(StringBuilder sb, long amount, String unit) {
        if (amount != 0) {
            sb.append(amount).append(unit);
        }
    }

    private static int rank(String unit) {
        return switch (unit) {
            case "ms" -> 0;
            case "s" -> 1;
            case "m" -> 2;
            case "h" -> 3;
            case "d" -> 4;
            default -> throw new IllegalStateException(unit);
        };
    }

    private static Duration of(long amount, String unit) {
        return switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            case "d" -> Duration.ofDays(amount);
            default -> throw new IllegalStateException(unit);
        };
    }
}
