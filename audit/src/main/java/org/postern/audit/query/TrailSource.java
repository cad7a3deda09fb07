package org.postern.audit.query;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.postern.audit.AuditUnavailableException;

/**
 * One thing to read: a trail directory (its {@code segment-NNNNNN.jsonl} files by number;
 * {@code *.torn-*} files and anything else ignored) or a JSON-lines file without chain, such as an
 * old {@code pki-audit.jsonl}. Opening checks that it is what it should be and says what was
 * found instead ({@link IllegalArgumentException}; {@link AuditUnavailableException} when it cannot be
 * listed); reading is {@link RecordCursor}'s.
 *
 * @param path  as the user gave it, for messages
 * @param files what to read, in written order
 */
record TrailSource(Path path, List<Path> files) {
    private static final Pattern SEGMENT = Pattern.compile("segment-\\d{6}\\.jsonl");
    /** How many entries of a directory that is not a trail an error message names. */
    private static final int SHOWN_ENTRIES = 4;

    TrailSource {
        files = List.copyOf(files);
    }

    /** A trail directory given as DIR; exit 2 when it is missing, a file, or holds no segments. */
    static TrailSource directory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("audit directory " + dir + ": expected a directory of segment-NNNNNN.jsonl files, found "
                    + (Files.exists(dir) ? "a file (a pki-audit.jsonl style file is read with --file)" : "nothing there"));
        }
        List<Path> segments = segments(dir, "audit directory " + dir);
        if (segments.isEmpty()) {
            throw new IllegalArgumentException("audit directory " + dir + ": expected segment-NNNNNN.jsonl files, found none ("
                    + contents(dir) + "; a pki-audit.jsonl style file is read with --file)");
        }
        return new TrailSource(dir, segments);
    }

    /** What {@code --file} names: another trail directory, or a JSON-lines file. */
    static TrailSource file(Path f) {
        if (Files.isDirectory(f)) { // another trail, such as the PKI's DATA/audit/pki
            List<Path> segments = segments(f, "--file " + f);
            if (segments.isEmpty()) {
                throw new IllegalArgumentException("--file " + f + ": expected a JSON-lines file or a trail directory of"
                        + " segment-NNNNNN.jsonl files, found a directory without segments (" + contents(f) + ")");
            }
            return new TrailSource(f, segments);
        }
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException("--file " + f + ": expected a JSON-lines file or a trail directory, found nothing there");
        }
        return new TrailSource(f, List.of(f));
    }

    RecordCursor open(Consumer<String> warnings, String where) {
        return new RecordCursor(files, warnings, where);
    }

    private static List<Path> segments(Path dir, String what) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(p -> SEGMENT.matcher(p.getFileName().toString()).matches()).sorted().toList();
        } catch (IOException e) {
            throw new AuditUnavailableException(what + ": cannot list it: " + e.getMessage(), e);
        }
    }

    /**
     * What a directory that is not a trail holds, in a few words: empty, or its first entries, and
     * the trail below it when it is a data directory ({@code DATA/audit/trail}, {@code DATA/audit/pki})
     * or an {@code audit} directory, the usual slip.
     */
    static String contents(Path dir) {
        List<String> names;
        try (Stream<Path> list = Files.list(dir)) {
            names = list.map(p -> p.getFileName().toString() + (Files.isDirectory(p) ? "/" : "")).sorted().toList();
        } catch (IOException e) {
            return "cannot list it: " + e.getMessage();
        }
        if (names.isEmpty()) {
            return "the directory is empty";
        }
        StringBuilder b = new StringBuilder("it holds ").append(String.join(", ", names.subList(0, Math.min(SHOWN_ENTRIES, names.size()))));
        if (names.size() > SHOWN_ENTRIES) {
            b.append(" and ").append(names.size() - SHOWN_ENTRIES).append(" more");
        }
        for (String below : List.of("audit/trail", "trail", "audit/pki", "pki")) {
            Path p = dir.resolve(below);
            if (Files.isDirectory(p) && !segments(p, "audit directory " + p).isEmpty()) {
                b.append("; the trail is probably ").append(p);
                break;
            }
        }
        return b.toString();
    }
}
