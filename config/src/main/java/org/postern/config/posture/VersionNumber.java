package org.postern.config.posture;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.postern.config.InvalidValueException;

/**
 * A dotted numeric version ({@code 14.4}, {@code 10.0.19045.4291}, {@code 6.1}) compared part by
 * part as numbers, so {@code 14.10} is newer than {@code 14.4} and a missing part counts as zero
 * ({@code 6.1} equals {@code 6.1.0}). {@code text} keeps what was written, for messages.
 */
public record VersionNumber(String text, List<Integer> parts) implements Comparable<VersionNumber> {

    // Nine digits keep every part in an int; no real version part comes near.
    private static final Pattern STRICT = Pattern.compile("\\d{1,9}(\\.\\d{1,9}){0,7}");
    private static final Pattern LEADING = Pattern.compile("^\\d{1,9}(\\.\\d{1,9}){0,7}");

    public VersionNumber {
        Objects.requireNonNull(text, "text");
        parts = List.copyOf(parts);
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("a version needs at least one number");
        }
    }

    /**
     * Parses a version that is dotted numbers only ({@code 14.4}, {@code 22.04}).
     *
     * @throws InvalidValueException {@code expected a version like 14.4, found "14.x"}
     */
    public static VersionNumber parse(String text) {
        Objects.requireNonNull(text, "text");
        if (!STRICT.matcher(text).matches()) {
            throw new InvalidValueException("a version of dotted numbers like 14.4", text);
        }
        return new VersionNumber(text, split(text));
    }

    /**
     * The leading dotted numbers of {@code text}, ignoring what follows: {@code 6.1.0-18-amd64} is
     * {@code 6.1.0}, {@code 14.4.1 (a)} is {@code 14.4.1}, {@code 0.3.0-SNAPSHOT} is {@code 0.3.0}.
     * {@code text} stays the whole input. Returns null when {@code text} does not start with a number.
     */
    public static @Nullable VersionNumber leading(@Nullable String text) {
        if (text == null) {
            return null;
        }
        Matcher m = LEADING.matcher(text.strip());
        if (!m.find()) {
            return null;
        }
        return new VersionNumber(text, split(m.group()));
    }

    private static List<Integer> split(String dotted) {
        List<Integer> out = new ArrayList<>();
        for (String p : dotted.split("\\.")) {
            out.add(Integer.parseInt(p));
        }
        return out;
    }

    /** Numeric comparison, part by part; a missing part is zero. */
    @Override
    public int compareTo(VersionNumber o) {
        int n = Math.max(parts.size(), o.parts.size());
        for (int i = 0; i < n; i++) {
            int a = i < parts.size() ? parts.get(i) : 0;
            int b = i < o.parts.size() ? o.parts.get(i) : 0;
            if (a != b) {
                return Integer.compare(a, b);
            }
        }
        return 0;
    }

    public boolean isOlderThan(VersionNumber minimum) {
        return compareTo(minimum) < 0;
    }

    /** As written. */
    @Override
    public String toString() {
        return text;
    }
}
