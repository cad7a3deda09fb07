package org.postern.config;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An amount of bytes, written with a unit: binary {@code 512B}, {@code 64KiB}, {@code 1MiB},
 * {@code 2GiB}, {@code 1TiB} (powers of 1024) or decimal {@code 1KB}/{@code 1kB}, {@code 1MB},
 * {@code 1GB}, {@code 1TB} (powers of 1000, as the SI and IEC define them). A bare number is
 * rejected because it hides which unit was meant.
 */
public record DataSize(long bytes) implements Comparable<DataSize> {

    static final String EXPECTED = "a size like 64KiB";

    private static final Pattern FORM = Pattern.compile("(\\d{1,19})(B|KiB|MiB|GiB|TiB|KB|kB|MB|GB|TB)");

    public DataSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("expected a size of 0 bytes or more, found " + bytes + " bytes");
        }
    }

    public static DataSize ofBytes(long bytes) {
        return new DataSize(bytes);
    }

    public static DataSize ofKiB(long kibibytes) {
        return new DataSize(Math.multiplyExact(kibibytes, 1024L));
    }

    public static DataSize ofMiB(long mebibytes) {
        return new DataSize(Math.multiplyExact(mebibytes, 1024L * 1024));
    }

    /**
     * Parses {@code text}.
     *
     * @throws InvalidValueException {@code expected a size like 64KiB, found "64k"}
     */
    public static DataSize parse(String text) {
        Objects.requireNonNull(text, "text");
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new InvalidValueException(EXPECTED, text);
        }
        long unit = switch (m.group(2)) {
            case "B" -> 1L;
            case "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            case "GiB" -> 1L << 30;
            case "TiB" -> 1L << 40;
            case "KB", "kB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            case "TB" -> 1_000_000_000_000L;
            default -> throw new IllegalStateException(m.group(2));
        };
        try {
            return new DataSize(Math.multiplyExact(Long.parseLong(m.group(1)), unit));
        } catch (ArithmeticException | NumberFormatException e) {
            throw new InvalidValueException(EXPECTED, text);
        }
    }

    /** An int for buffer and frame limits; sizes are bounded well below 2 GiB where this is used. */
    public int toIntExact() {
        return Math.toIntExact(bytes);
    }

    @Override
    public int compareTo(DataSize other) {
        return Long.compare(bytes, other.bytes);
    }

    /** The largest binary unit that divides exactly, so that {@link #parse} reads it back: {@code 64KiB}. */
    @Override
    public String toString() {
        String[] units = {"TiB", "GiB", "MiB", "KiB"};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << (10 * (units.length - i));
            if (bytes != 0 && bytes % unit == 0) {
                return (bytes / unit) + units[i];
            }
        }
        return bytes + "B";
    }
}
