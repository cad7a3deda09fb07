package org.postern.audit.index;

import org.jspecify.annotations.Nullable;

/**
 * What one {@link AuditIndex#catchUp()} did.
 *
 * @param added         records indexed by this call
 * @param skipped       lines passed over: not a record, or a {@code seq} not after the last one indexed
 * @param rebuilt       whether the index was built from scratch
 * @param rebuildReason why (no index yet, corrupt, another trail, a segment cut or replaced, a stale entry), else null
 * @param lastSeq       the last {@code seq} indexed
 * @param busy          another writer (another process or index object) held the index: nothing was done
 * @param millis        time taken
 */
public record CatchUp(long added, long skipped, boolean rebuilt, @Nullable String rebuildReason, long lastSeq, boolean busy,
                      long millis) {
}
