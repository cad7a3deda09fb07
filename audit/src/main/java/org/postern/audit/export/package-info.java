/**
 * Writing records for a SIEM or a spreadsheet: {@link org.postern.audit.export.ExportFormat} (jsonl, csv, cef,
 * ocsf) writes a stream of records one at a time, never holding the trail. CSV cells are
 * neutralised against formula injection and CEF values escaped per the spec (docs/audit.md, "Formats").
 */
@NullMarked
package org.postern.audit.export;

import org.jspecify.annotations.NullMarked;
