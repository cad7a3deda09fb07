/**
 * The search index kept beside an audit trail ({@link org.postern.audit.index.AuditIndex}): positions of
 * records by user, device, host, type, reason, session and time, so the console's audit search and
 * access report answer without reading the whole trail. The trail stays the record of truth: every
 * record shown is read back from its segment file and checked against the index entry.
 */
@NullMarked
package org.postern.audit.index;

import org.jspecify.annotations.NullMarked;
