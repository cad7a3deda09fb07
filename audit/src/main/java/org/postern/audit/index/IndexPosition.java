package org.postern.audit.index;

import java.time.Instant;
import java.util.Objects;

/**
 * Where the index says a record is: its line in a segment file of the trail.
 *
 * @param seq     the record's {@code seq}
 * @param segment the segment file's name ({@code segment-000042.jsonl})
 * @param offset  byte offset of the line's first byte in that file
 * @param length  bytes of the line, without its {@code \n}
 * @param time    the record's {@code time}
 */
public record IndexPosition(long seq, String segment, long offset, int length, Instant time) {
    public IndexPosition {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(time, "time");
        if (seq < 1 || offset < 0 || length < 1) {
            throw new IllegalArgumentException("index position: expected seq ≥ 1, offset ≥ 0 and length ≥ 1, found seq "
                    + seq + ", offset " + offset + ", length " + length);
        }
    }
}
