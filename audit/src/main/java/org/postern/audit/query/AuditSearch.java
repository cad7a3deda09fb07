package org.postern.audit.query;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Pages of matching records for the console: up to {@code limit} records that match a filter,
 * starting right after a {@link PageCursor}, in the merged order of {@link Trails} (the order of
 * {@code postern audit search}), and whether more follow. One page at a time: memory holds the page
 * and one record per trail, whatever the trails' size.
 *
 * <pre>{@code
 * AuditSearch search = new AuditSearch(Trails.open(List.of(trailDir), List.of(), log::warn));
 * AuditSearch.Page p = search.page(filter, null, 100);
 * // next page: search.page(filter, p.next(), 100), or PageCursor.parse(token) from the browser
 * }</pre>
 */
public final class AuditSearch {
    /** The largest page: a bound on what one request holds in memory. */
    public static final int MAX_LIMIT = 1000;

    private final RecordSource source;

    public AuditSearch(RecordSource source) {
        this.source = source;
    }

    /**
     * One page.
     *
     * @param records the matching records, at most the limit asked for, in order
     * @param more    whether at least one more record matches after the last one
     */
    public record Page(List<AuditRecord> records, boolean more) {
        public Page {
            records = List.copyOf(records);
        }

        /** Where the next page starts, or null when there is none. */
        public @Nullable PageCursor next() {
            return more ? PageCursor.of(records.getLast()) : null;
        }
    }

    /**
     * Up to {@code limit} records matching {@code filter} after {@code after} (from the first when null).
     *
     * @throws IllegalArgumentException when {@code limit} is not 1 to {@link #MAX_LIMIT}
     * @throws org.postern.audit.AuditUnavailableException when a trail cannot be read
     */
    public Page page(AuditFilter filter, @Nullable PageCursor after, int limit) {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit: expected 1 to " + MAX_LIMIT + ", found " + limit);
        }
        List<AuditRecord> records = new ArrayList<>(Math.min(limit, 64));
        try (RecordStream s = source.open(filter, after)) {
            for (AuditRecord r = s.next(); r != null; r = s.next()) {
                if (!filter.test(r)) {
                    continue;
                }
                if (records.size() == limit) {
                    return new Page(records, true);
                }
                records.add(r);
            }
        }
        return new Page(records, false);
    }
}
