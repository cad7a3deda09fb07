package org.postern.audit.index;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditUnavailableException;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.PageCursor;
import org.postern.audit.query.RecordSource;
import org.postern.audit.query.RecordStream;

/**
 * One trail's records through its {@link AuditIndex}: only the candidates the index finds for a
 * filter, each read back from the trail (the record of truth) at its position, in trail order.
 * {@link org.postern.audit.query.AuditSearch} still tests the whole filter on every record, so a
 * criterion the index does not hold (the outcome) is applied exactly as a plain scan applies it.
 * The index catches up with the trail when a stream opens.
 */
public final class IndexedSource implements RecordSource {
    /** Positions fetched from the index at a time. */
    static final int BATCH = 512;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AuditIndex index;

    public IndexedSource(AuditIndex index) {
        this.index = Objects.requireNonNull(index, "index");
    }

    /** What the index can select of {@code filter}: everything but the outcome. */
    public static IndexQuery query(AuditFilter f) {
        return new IndexQuery(f.since(), f.until(), f.user(), f.device(), f.dest(), f.typePrefixes(), f.reason(), null,
                f.includeCheckpoints());
    }

    @Override
    public RecordStream open(AuditFilter filter, @Nullable PageCursor after) {
        return open(query(filter), after == null ? 0 : after.seq());
    }

    /** The records {@code q} selects after {@code afterSeq}, in trail order. */
    public RecordStream open(IndexQuery q, long afterSeq) {
        try {
            index.catchUp();
        } catch (IOException e) {
            throw new AuditUnavailableException("audit index of " + index.trailDirectory() + ": " + e.getMessage(), e);
        }
        return new Stream(q, afterSeq);
    }

    private final class Stream implements RecordStream {
        private final IndexQuery q;
        private final Deque<IndexPosition> batch = new ArrayDeque<>();
        private long cursor;
        private boolean more = true;

        Stream(IndexQuery q, long afterSeq) {
            this.q = q;
            this.cursor = afterSeq;
        }

        @Override
        public @Nullable AuditRecord next() {
            try {
                if (batch.isEmpty() && more) {
                    IndexPage p = index.page(q, cursor, BATCH);
                    batch.addAll(p.positions());
                    cursor = p.nextCursor(cursor);
                    more = p.hasMore();
                }
                IndexPosition pos = batch.poll();
                return pos == null ? null : record(pos, index.read(pos));
            } catch (IOException e) {
                throw new AuditUnavailableException("audit index of " + index.trailDirectory() + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            batch.clear();
            more = false;
        }
    }

    static AuditRecord record(IndexPosition pos, String line) {
        try {
            JsonNode n = JSON.readTree(line);
            if (!(n instanceof ObjectNode o)) {
                throw new UncheckedIOException(new IOException(pos.segment() + " at byte " + pos.offset()
                        + ": expected a JSON object, found " + n.getNodeType()));
            }
            String time = o.path("time").asText(null);
            return new AuditRecord(o, pos.segment() + "@" + pos.offset(), time == null ? pos.time() : Instant.parse(time));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
