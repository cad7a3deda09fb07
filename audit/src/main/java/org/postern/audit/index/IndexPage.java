package org.postern.audit.index;

import java.util.List;

/**
 * One page of matching records, in trail order (ascending {@code seq}).
 *
 * @param positions at most the asked limit
 * @param hasMore   whether more records match after the last one
 */
public record IndexPage(List<IndexPosition> positions, boolean hasMore) {
    public IndexPage {
        positions = List.copyOf(positions);
    }

    /** The cursor that continues after this page ({@code afterSeq} of the next call); the given cursor when the page is empty. */
    public long nextCursor(long afterSeq) {
        return positions.isEmpty() ? afterSeq : positions.getLast().seq();
    }
}
