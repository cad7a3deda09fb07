package org.postern.audit.query;

import org.jspecify.annotations.Nullable;

/**
 * Where {@link AuditSearch} reads records from. {@link Trails} reads every record of the trails
 * merged by time; an index beside the trail can implement this too and hand out only candidates,
 * without {@link AuditSearch} or its callers changing.
 */
public interface RecordSource {

    /**
     * The records that come after {@code after} in this source's order (from the start when null),
     * in that order. The stream holds at least every record that matches {@code filter}; it may hold
     * others too (the caller tests {@code filter} on each), so a source that cannot select returns
     * them all and an indexed one only its candidates. It never holds {@code after}'s record or
     * one before it.
     */
    RecordStream open(AuditFilter filter, @Nullable PageCursor after);
}
