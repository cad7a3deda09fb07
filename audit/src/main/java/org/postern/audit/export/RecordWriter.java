package org.postern.audit.export;

import java.io.IOException;

import org.postern.audit.query.AuditRecord;

/** Writes records one at a time in one {@link ExportFormat}; made by {@link ExportFormat#open}. */
public interface RecordWriter {

    /** Writes {@code r} as one line (CSV: one row) of the format. */
    void write(AuditRecord r) throws IOException;

    /** How many records were written. */
    long count();
}
