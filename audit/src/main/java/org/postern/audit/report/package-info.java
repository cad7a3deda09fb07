/**
 * Reports over a stream of records, each a plain computation fed records in merged order
 * ({@code accept}) and closed with {@code finish()}, whose result the CLI prints and the console
 * renders: remote-work indicators ({@link org.postern.audit.report.RemoteWorkReport}), who reached what
 * ({@link org.postern.audit.report.AccessReport}), denials per device and reason
 * ({@link org.postern.audit.report.DenialReport}) and the dashboard's days
 * ({@link org.postern.audit.report.DailyActivity}).
 */
@NullMarked
package org.postern.audit.report;

import org.jspecify.annotations.NullMarked;
