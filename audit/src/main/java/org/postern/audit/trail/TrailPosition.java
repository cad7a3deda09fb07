package org.postern.audit.trail;

import java.time.Instant;

/**
 * Where the writer stands: the segment being written and the chain head. {@link TrailRecovery}
 * finds it on open; the writer keeps the one of its last successful {@code fsync} to roll back to.
 *
 * @param segmentNumber  the segment being written
 * @param segmentSize    bytes in it
 * @param segmentStarted time of its first record, null while it has none
 * @param seq            the last record written
 * @param prev           hash of the last record's line
 * @param lastCheckpoint time of the last checkpoint (or of opening, when there is none)
 */
record TrailPosition(long segmentNumber, long segmentSize, Instant segmentStarted, long seq, String prev,
                     Instant lastCheckpoint) {
}
