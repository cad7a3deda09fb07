package org.postern.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.io.GroupSync;

/**
 * The simple audit sink of the foundation: one JSON object per line, appended and forced to disk
 * (group commit: concurrent records share an fsync) before {@link #record} returns, so a PKI
 * operation is never reported done without its record.
 * The hash-chained, checkpointed trail replaces it (docs/audit.md).
 */
public final class JsonLinesAuditSink implements AuditSink {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** UTC, always three fraction digits (ISO_INSTANT drops them on a whole second): docs/audit.md. */
    private static final DateTimeFormatter TIME = new DateTimeFormatterBuilder().appendInstant(3).toFormatter();

    private final Path file;
    private final String gateway;
    private final FileChannel channel;
    private final GroupSync sync;
    private long seq;

    public JsonLinesAuditSink(Path file, String gateway) throws IOException {
        this.file = file;
        this.gateway = gateway;
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        this.sync = new GroupSync(() -> channel.force(false));
        try (var lines = Files.lines(file)) {
            this.seq = lines.count();
        }
    }

    /** Appends the line, then waits for an fsync that covers it (shared with concurrent callers). */
    @Override
    public void record(AuditEvent event) {
        long ticket;
        synchronized (this) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("seq", seq + 1);
            line.put("time", TIME.format(event.time().truncatedTo(ChronoUnit.MILLIS)));
            line.put("type", event.type());
            line.put("gateway", gateway);
            line.putAll(event.fields());
            try {
                ByteBuffer buf = ByteBuffer.wrap((JSON.writeValueAsString(line) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("audit event " + event.type() + " has a field that is not JSON-serialisable: " + e.getMessage(), e);
            } catch (IOException e) {
                throw new AuditUnavailableException("cannot write audit record to " + file + ": " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()), e);
            }
            seq++;
            ticket = sync.ticket();
        }
        try {
            sync.sync(ticket);
        } catch (IOException e) {
            throw new AuditUnavailableException("cannot fsync audit record to " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new AuditUnavailableException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }
}
