package org.postern.cli.audit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jspecify.annotations.Nullable;
import org.postern.cli.Exit;
import org.postern.cli.TerminalText;

/**
 * Reads records in written order: the segments of a trail directory ({@code segment-NNNNNN.jsonl}
 * by number; {@code *.torn-*} files and anything else ignored), then each {@code --file}. A line that
 * does not parse is skipped with a warning naming {@code file:line}; checking the chain is
 * {@code postern audit verify}'s job, not this reader's.
 */
final class TrailReader {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SEGMENT = Pattern.compile("segment-\\d{6}\\.jsonl");

    private final List<Path> files;
    private final PrintWriter warnings;

    private TrailReader(List<Path> files, PrintWriter warnings) {
        this.files = files;
        this.warnings = warnings;
    }

    /** The reader of a trail directory (may be null) and PKI-style files; exit 2 when one is missing. */
    static TrailReader open(Path dir, List<Path> extraFiles, PrintWriter warnings) {
        List<Path> files = new ArrayList<>();
        if (dir == null && extraFiles.isEmpty()) {
            throw new Exit(Exit.USAGE, "expected an audit directory DIR or --file FILE, found neither");
        }
        if (dir != null) {
            if (!Files.isDirectory(dir)) {
                throw new Exit(Exit.USAGE, "audit directory " + dir + ": expected a directory of segment-NNNNNN.jsonl files, found "
                        + (Files.exists(dir) ? "a file (a pki-audit.jsonl style file is read with --file)" : "nothing there"));
            }
            try (Stream<Path> list = Files.list(dir)) {
                list.filter(p -> SEGMENT.matcher(p.getFileName().toString()).matches()).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new Exit(Exit.UNAVAILABLE, "audit directory " + dir + ": cannot list it: " + e.getMessage());
            }
            if (files.isEmpty()) {
                throw new Exit(Exit.USAGE, "audit directory " + dir + ": expected segment-NNNNNN.jsonl files, found none"
                        + " (a pki-audit.jsonl style file is read with --file)");
            }
        }
        for (Path f : extraFiles) {
            if (Files.isDirectory(f)) { // another trail, such as the PKI's DATA/audit/pki
                List<Path> segments;
                try (Stream<Path> list = Files.list(f)) {
                    segments = list.filter(p -> SEGMENT.matcher(p.getFileName().toString()).matches()).sorted().toList();
                } catch (IOException e) {
                    throw new Exit(Exit.UNAVAILABLE, "--file " + f + ": cannot list it: " + e.getMessage());
                }
                if (segments.isEmpty()) {
                    throw new Exit(Exit.USAGE, "--file " + f + ": expected a JSON-lines file or a trail directory of"
                            + " segment-NNNNNN.jsonl files, found a directory without segments");
                }
                files.addAll(segments);
                continue;
            }
            if (!Files.isRegularFile(f)) {
                throw new Exit(Exit.USAGE, "--file " + f + ": expected a JSON-lines file or a trail directory, found nothing there");
            }
            files.add(f);
        }
        return new TrailReader(List.copyOf(files), warnings);
    }

    List<Path> files() {
        return files;
    }

    /**
     * Passes every record that parses to {@code sink}, in order. Lines are decoded as UTF-8, as
     * the writer encodes them; bytes that are not valid UTF-8 are kept as {@link TerminalText}
     * raw bytes (shown as {@code \xNN}), with a warning, never as mojibake or U+FFFD.
     */
    void forEach(Consumer<AuditRecord> sink) {
        for (Path f : files) {
            try (InputStream in = new BufferedInputStream(Files.newInputStream(f), 1 << 16)) {
                ByteArrayOutputStream line = new ByteArrayOutputStream(512);
                int n = 0;
                int b;
                boolean more = true;
                while (more) {
                    b = in.read();
                    if (b >= 0 && b != '\n') {
                        line.write(b);
                        continue;
                    }
                    more = b >= 0;
                    if (!more && line.size() == 0) {
                        break;
                    }
                    n++;
                    byte[] bytes = line.toByteArray();
                    line.reset();
                    int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    TerminalText.Decoded text = TerminalText.decodeUtf8(bytes, 0, len);
                    if (text.text().isBlank()) {
                        continue;
                    }
                    String location = f.getFileName() + ":" + n;
                    if (!text.valid()) {
                        warnings.println("postern: " + location + ": not valid UTF-8; the invalid bytes are shown as \\xNN");
                        warnings.flush();
                    }
                    AuditRecord r = parse(text.text(), location);
                    if (r != null) {
                        sink.accept(r);
                    }
                }
            } catch (IOException e) {
                throw new Exit(Exit.UNAVAILABLE, f + ": cannot read it: " + e.getMessage());
            }
        }
    }

    private @Nullable AuditRecord parse(String line, String location) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
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
        warnings.println("postern: skipping " + location + ": " + what);
        warnings.flush();
    }
}
