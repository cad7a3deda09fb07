package org.postern.audit.siem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.jspecify.annotations.Nullable;

/**
 * Reads a trail's records in {@code seq} order from a given point, across segment files, while
 * the writer appends: the trail is the forwarder's spool. It only ever hands out records up to a
 * {@code seq} the caller knows to be durable, so a line a failed batch rolls back is never sent.
 */
final class TrailTail implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SEGMENT = Pattern.compile("segment-(\\d{6})\\.jsonl");

    /** One record: its seq, parsed fields and the exact line bytes (without the newline). */
    record Line(long seq, JsonNode record, byte[] bytes) {
    }

    private final Path dir;
    private long segment;
    private @Nullable FileChannel channel;
    private long bufferOffset;     // file offset of buffer[0]
    private byte[] buffer = new byte[1 << 16];
    private int pos;
    private int limit;
    private long nextSeq;

    TrailTail(Path dir) {
        this.dir = dir;
    }

    /** Positions after {@code seq}: the next {@link #next} returns record {@code seq + 1}. */
    void seek(long seq) throws IOException {
        closeChannel();
        nextSeq = seq + 1;
        long chosen = -1;
        long first = -1;
        for (long n : segments()) {
            if (first < 0) {
                first = n;
            }
            long firstSeq = firstSeq(n);
            if (firstSeq < 0 || firstSeq <= nextSeq) {
                chosen = n;
            } else {
                break;
            }
        }
        segment = chosen > 0 ? chosen : Math.max(first, 1);
        bufferOffset = 0;
        pos = 0;
        limit = 0;
    }

    /** The seq the next record will have. */
    long nextSeq() {
        return nextSeq;
    }

    /**
     * The next record if its seq is at most {@code durable}, else null (nothing to send yet).
     *
     * @throws IOException when the trail cannot be read, or the record is not where the chain says
     */
    @Nullable Line next(long durable) throws IOException {
        if (nextSeq > durable) {
            return null;
        }
        while (true) {
            int nl = indexOf(buffer, pos, limit);
            if (nl >= 0) {
                int start = pos;
                pos = nl + 1;
                JsonNode n = JSON.readTree(buffer, start, nl - start);
                long seq = n == null ? -1 : n.path("seq").asLong(-1);
                if (seq < 0) {
                    throw new IOException("audit segment " + name(segment) + " at byte " + (bufferOffset + start)
                            + ": expected a record with a seq, found a line that is not one");
                }
                if (seq < nextSeq) {
                    continue; // before the cursor
                }
                if (seq > nextSeq) {
                    throw new IOException("audit segment " + name(segment) + ": expected record " + nextSeq
                            + ", found " + seq + " (the trail is broken here; run postern audit verify)");
                }
                nextSeq++;
                return new Line(seq, n, Arrays.copyOfRange(buffer, start, nl));
            }
            if (!fill()) {
                // End of this segment while a durable record is still to come: it is in the next one.
                Path following = dir.resolve(name(segment + 1));
                if (limit - pos == 0 && Files.exists(following)) {
                    closeChannel();
                    segment++;
                    bufferOffset = 0;
                    pos = 0;
                    limit = 0;
                    continue;
                }
                throw new IOException("audit trail " + dir + ": record " + nextSeq + " is durable but not found after "
                        + name(segment) + " byte " + (bufferOffset + limit));
            }
        }
    }

    /** Reads more of the current segment; false at its end. */
    private boolean fill() throws IOException {
        if (channel == null) {
            Path file = dir.resolve(name(segment));
            if (!Files.exists(file)) {
                return false;
            }
            channel = FileChannel.open(file, StandardOpenOption.READ);
        }
        if (pos > 0) {
            System.arraycopy(buffer, pos, buffer, 0, limit - pos);
            bufferOffset += pos;
            limit -= pos;
            pos = 0;
        }
        if (limit == buffer.length) {
            buffer = Arrays.copyOf(buffer, buffer.length * 2);
        }
        int n = channel.read(ByteBuffer.wrap(buffer, limit, buffer.length - limit), bufferOffset + limit);
        if (n <= 0) {
            return false;
        }
        limit += n;
        return true;
    }

    private long firstSeq(long n) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve(name(n)), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(256);
            ch.read(b, 0);
            String head = new String(b.array(), 0, b.position(), java.nio.charset.StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("^\\{\"seq\":(\\d+),").matcher(head);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }
    }

    private long[] segments() throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> SEGMENT.matcher(p.getFileName().toString()))
                    .filter(Matcher::matches).mapToLong(m -> Long.parseLong(m.group(1))).sorted().toArray();
        }
    }

    private static String name(long n) {
        return "segment-%06d.jsonl".formatted(n);
    }

    private static int indexOf(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private void closeChannel() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    @Override
    public void close() throws IOException {
        closeChannel();
    }
}
