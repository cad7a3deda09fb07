/**
 * Reading audit trails for people: one or several trails merged by time
 * ({@link org.postern.audit.query.Trails}), the record as read ({@link org.postern.audit.query.AuditRecord}),
 * the selection ({@link org.postern.audit.query.AuditFilter}, {@link org.postern.audit.query.Outcome},
 * {@link org.postern.audit.query.Times}) and pages of matching records for the console
 * ({@link org.postern.audit.query.AuditSearch}). Everything streams: memory holds one record per
 * trail and one page, never a trail. {@code postern audit search|export|report} and the admin
 * console use this one implementation, so they select the same records for the same filter.
 * Checking the chain is {@code org.postern.audit.trail.AuditVerifier}'s job, not this package's.
 */
@NullMarked
package org.postern.audit.query;

import org.jspecify.annotations.NullMarked;
