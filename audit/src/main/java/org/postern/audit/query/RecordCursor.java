package org.postern.audit.query;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.function.Consumer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jspecify.annotations.Nullable;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.audit.AuditUnavailableException;
import org.postern.audit.text.TerminalText;

/**
 * The records of one source, one at a time, in written order: the merge of several trails pulls
 * from one cursor per trail and so holds one record per trail, never a whole trail. A line that
 * does not parse is skipped with a warning naming {@code file:line}; checking the chain is
 * {@code postern audit verify}'s job, not this reader's.
 */
final class RecordCursor implements RecordStream {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Path> files;
    private final Consumer<String> warnings;
    private final String where;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(512);
    private int fileIndex = -1;
    private @Nullable InputStream in;
    private int lineNo;

    /**
     * @param warnings takes each warning, one line without the command's name
     * @param where appended to the file name in warnings: empty for a single source, the trail's
     *              path when several are read (their segment files have the same names)
     */
    RecordCursor(List<Path> files, Consumer<String> warnings, String where) {
        this.files = files;
        this.warnings = warnings;
        this.where = where;
    }

    /**
     * The next record that parses, or null at the end. Lines are decoded as UTF-8, as the writer
     * encodes them; bytes that are not valid UTF-8 are kept as {@link TerminalText} raw bytes
     * (shown as {@code \xNN}), with a warning, never as mojibake or U+FFFD.
     */
    @Override
    public @Nullable AuditRecord next() {
        while (true) {
            if (in == null && !openNext()) {
                return null;
            }
            Path f = files.get(fileIndex);
            byte[] bytes;
            try {
                bytes = readLine();
            } catch (IOException e) {
                throw new AuditUnavailableException(f + ": cannot read it: " + e.getMessage(), e);
            }
            if (bytes == null) {
                closeFile();
                continue;
            }
            lineNo++;
            int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
            TerminalText.Decoded text = TerminalText.decodeUtf8(bytes, 0, len);
            if (text.text().isBlank()) {
                continue;
            }
            String location = f.getFileName() + ":" + lineNo;
            if (!text.valid()) {
                warnings.accept(location + where + ": not valid UTF-8; the invalid bytes are shown as \\xNN");
            }
            AuditRecord r = parse(text.text(), location);
            if (r != null) {
                return r;
            }
        }
    }

    private boolean openNext() {
        if (fileIndex + 1 >= files.size()) {
            return false;
        }
        fileIndex++;
        lineNo = 0;
        Path f = files.get(fileIndex);
        try {
            in = new BufferedInputStream(Files.newInputStream(f), 1 << 16);
        } catch (IOException e) {
            throw new AuditUnavailableException(f + ": cannot read it: " + e.getMessage(), e);
        }
        return true;
    }

    /** The next line's bytes without its {@code \n}; null at the end of the file. */
    private byte @Nullable [] readLine() throws IOException {
        line.reset();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.write(b);
        }
        if (b < 0 && line.size() == 0) {
            return null;
        }
        return line.toByteArray();
    }

    private void closeFile() {
        try {
            if (in != null) {
                in.close();
            }
        } catch (IOException ignored) {
            // read only: nothing was lost
        }
        in = null;
    }

    @Override
    public void close() {
        closeFile();
        fileIndex = files.size();
    }

    private @Nullable AuditRecord parse(String text, String location) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            warn(location, "not JSON (" + TerminalText.escape(e.getOriginalMessage()) + ")");
            return null;
        }
        if (!(node instanceof ObjectNode o)) {
            warn(location, "expected a JSON object, found " + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            return null;
        }
        JsonNode time = o.get("time");
        if (time == null || !time.isTextual()) {
            warn(location, "no \"time\" field");
            return null;
        }
        if (!o.hasNonNull("type")) {
            warn(location, "no \"type\" field");
            return null;
        }
        try {
            return new AuditRecord(o, location, Instant.parse(time.asText()));
        } catch (DateTimeParseException e) {
            warn(location, "time: expected an ISO-8601 UTC instant, found \"" + TerminalText.escape(time.asText()) + "\"");
            return null;
        }
    }

    private void warn(String location, String what) {
        warnings.accept("skipping " + location + where + ": " + what);
    }
}
