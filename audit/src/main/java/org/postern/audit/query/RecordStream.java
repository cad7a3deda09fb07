package org.postern.audit.query;

import org.jspecify.annotations.Nullable;

/**
 * Records one at a time, in order, never all at once: the merge of several trails, a page's
 * candidates. {@link #close()} releases the files it reads; it may be called before the end.
 */
public interface RecordStream extends AutoCloseable {

    /**
     * The next record, or null at the end.
     *
     * @throws org.postern.audit.AuditUnavailableException when a file cannot be read
     */
    @Nullable AuditRecord next();

    @Override
    void close();
}
