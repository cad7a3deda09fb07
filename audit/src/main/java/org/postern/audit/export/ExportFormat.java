package org.postern.audit.export;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.RecordStream;

/**
 * The export formats of {@code postern audit export --format} and the console's exports. Each
 * writes records one at a time as they are read (a trail is never held), one line per record:
 *
 * <ul>
 *   <li>{@link #JSONL}: the records as written;</li>
 *   <li>{@link #CSV}: RFC 4180 with a header, UTF-8 with a byte-order mark, CRLF; text cells shown
 *       safely and neutralised against formula injection ({@link CsvFormat});</li>
 *   <li>{@link #CEF}: ArcSight CEF, escaped per the spec ({@link CefFormat});</li>
 *   <li>{@link #OCSF}: OCSF 1.3 events as JSON lines.</li>
 * </ul>
 * The mappings are in docs/audit.md ("Formats").
 */
public enum ExportFormat {
    JSONL("application/x-ndjson", "jsonl"),
    CSV("text/csv; charset=utf-8", "csv"),
    CEF("text/plain; charset=utf-8", "cef"),
    OCSF("application/x-ndjson", "ocsf.jsonl");

    static final ObjectMapper JSON = new ObjectMapper();

    private final String mediaType;
    private final String fileExtension;

    ExportFormat(String mediaType, String fileExtension) {
        this.mediaType = mediaType;
        this.fileExtension = fileExtension;
    }

    /** The names, in order: jsonl, csv, cef, ocsf. */
    public static List<String> names() {
        return Arrays.stream(values()).map(ExportFormat::wireName).toList();
    }

    /**
     * The format named {@code name} (any case).
     *
     * @param what names the value in the error ({@code --format}, a query parameter)
     * @throws IllegalArgumentException "WHAT: expected one of jsonl, csv, cef, ocsf, found "NAME""
     */
    public static ExportFormat parse(String what, String name) {
        for (ExportFormat f : values()) {
            if (f.wireName().equals(name.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException(what + ": expected one of " + String.join(", ", names()) + ", found \"" + name + "\"");
    }

    /** {@code jsonl}, {@code csv}, {@code cef} or {@code ocsf}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The HTTP media type of a download. */
    public String mediaType() {
        return mediaType;
    }

    /** The file name extension of a download, without the dot. */
    public String fileExtension() {
        return fileExtension;
    }

    /**
     * One record as this format writes it, line end included (CRLF for CSV, LF otherwise). The
     * text never holds a line break of its own: one record is one line.
     */
    public String line(AuditRecord r) {
        return switch (this) {
            case JSONL -> r.json().toString() + "\n";
            case CSV -> CsvFormat.line(r);
            case CEF -> CefFormat.line(r) + "\n";
            case OCSF -> OcsfFormat.event(r).toString() + "\n";
        };
    }

    /** What comes before the first record: CSV's byte-order mark and header; nothing for the others. */
    public String header() {
        return this == CSV ? CsvFormat.header() : "";
    }

    /** Writes the header to {@code out} now; then each record given as one line. {@code out} is neither flushed nor closed. */
    public RecordWriter open(Writer out) throws IOException {
        out.write(header());
        return new RecordWriter() {
            private long count;

            @Override
            public void write(AuditRecord r) throws IOException {
                out.write(line(r));
                count++;
            }

            @Override
            public long count() {
                return count;
            }
        };
    }

    /**
     * Writes the header and each record of {@code records} that {@code keep} accepts, as they are
     * read; flushes {@code out} but leaves it open, and closes {@code records}.
     *
     * @return how many records were written
     */
    public long write(RecordStream records, Predicate<? super AuditRecord> keep, Writer out) throws IOException {
        try (records) {
            RecordWriter w = open(out);
            for (AuditRecord r = records.next(); r != null; r = records.next()) {
                if (keep.test(r)) {
                    w.write(r);
                }
            }
            out.flush();
            return w.count();
        }
    }

    /** As {@link #write(RecordStream, Predicate, Writer)}, encoding UTF-8 onto {@code out} (flushed, left open). */
    public long write(RecordStream records, Predicate<? super AuditRecord> keep, OutputStream out) throws IOException {
        Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
        return write(records, keep, w);
    }
}
