package org.postern.audit.index;

/**
 * How many records match, counted up to a cap so that a count over a long trail stays fast.
 *
 * @param value  the count, or the cap when {@code capped}
 * @param capped whether counting stopped at the cap (there are more)
 */
public record IndexCount(long value, boolean capped) {
    public IndexCount {
        if (value < 0) {
            throw new IllegalArgumentException("count: expected ≥ 0, found " + value);
        }
    }

    /** {@code 1234}, or {@code 100000+} when capped. */
    @Override
    public String toString() {
        return capped ? value + "+" : Long.toString(value);
    }
}
