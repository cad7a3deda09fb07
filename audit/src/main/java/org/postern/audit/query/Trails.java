package org.postern.audit.query;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

import org.jspecify.annotations.Nullable;
import org.postern.audit.text.TerminalText;

/**
 * The trails given — one per gateway, each a trail directory or a JSON-lines file — read with
 * their records merged by time: a k-way merge of the sources, each read in its written order by
 * its own cursor, so memory holds one record per source whatever the trails' size.
 *
 * <p>The rule, for sources whose times are not in order (a clock stepped back on one gateway):
 * the next record is the earliest of the sources' next records, by {@code time}, then
 * {@code gateway}, then {@code seq}, then the order the sources were given. A source's own order
 * is never changed, so a record that goes back in time comes right after its predecessor in its
 * trail, not earlier. With one source the records come exactly as written.
 *
 * <p>A line that does not parse is skipped with a warning naming {@code file:line}; two sources
 * holding records of one gateway are warned about once (both are read). Warnings go to the
 * consumer given, one line each, without the command's name.
 */
public final class Trails implements RecordSource {
    private final List<TrailSource> sources;
    private final Consumer<String> warnings;

    private Trails(List<TrailSource> sources, Consumer<String> warnings) {
        this.sources = List.copyOf(sources);
        this.warnings = warnings;
    }

    /**
     * The trail directories {@code dirs} ({@code segment-NNNNNN.jsonl} files) and {@code files}
     * (each a JSON-lines file without chain, like an old {@code pki-audit.jsonl}, or another trail
     * directory), checked now.
     *
     * @throws IllegalArgumentException when none is given or one is not what was expected (the
     *                                  message says what was found instead)
     * @throws org.postern.audit.AuditUnavailableException when a directory cannot be listed
     */
    public static Trails open(List<Path> dirs, List<Path> files, Consumer<String> warnings) {
        if (dirs.isEmpty() && files.isEmpty()) {
            throw new IllegalArgumentException("expected an audit directory DIR or --file FILE, found neither");
        }
        List<TrailSource> sources = new ArrayList<>();
        dirs.forEach(d -> sources.add(TrailSource.directory(d)));
        files.forEach(f -> sources.add(TrailSource.file(f)));
        return new Trails(sources, warnings);
    }

    /** Every record that parses, the sources merged by time (see the class comment). */
    public RecordStream stream() {
        return new Merge();
    }

    /** Passes every record of {@link #stream()} to {@code sink}. */
    public void forEach(Consumer<AuditRecord> sink) {
        read(r -> {
            sink.accept(r);
            return true;
        });
    }

    /** Like {@link #forEach}, until {@code sink} answers false (a limit reached: the rest is not read). */
    public void read(Predicate<AuditRecord> sink) {
        try (RecordStream s = stream()) {
            for (AuditRecord r = s.next(); r != null; r = s.next()) {
                if (!sink.test(r)) {
                    return;
                }
            }
        }
    }

    /**
     * Every record after {@code after}'s record in the merged order; {@code filter} is left to the
     * caller (a plain read cannot select). The cursor's record is found by reading from the start,
     * so a later page costs a read of the trail up to it (an index will spare that). Should the
     * record be gone (a retention purge), the records whose (time, gateway, seq) comes after the
     * cursor's are given, in merged order.
     */
    @Override
    public RecordStream open(AuditFilter filter, @Nullable PageCursor after) {
        if (after == null) {
            return stream();
        }
        RecordStream s = stream();
        try {
            for (AuditRecord r = s.next(); r != null; r = s.next()) {
                if (after.names(r)) {
                    return s;
                }
            }
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        s.close();
        RecordStream again = stream();
        return new RecordStream() {
            @Override
            public @Nullable AuditRecord next() {
                for (AuditRecord r = again.next(); r != null; r = again.next()) {
                    if (PageCursor.ORDER.compare(PageCursor.of(r), after) > 0) {
                        return r;
                    }
                }
                return null;
            }

            @Override
            public void close() {
                again.close();
            }
        };
    }

    /**
     * What a directory that is not a trail holds, in a few words (empty, or its first entries), and
     * the trail below it when it is a data directory or an {@code audit} directory: for an error
     * message about a directory given as a trail.
     */
    public static String contents(Path dir) {
        return TrailSource.contents(dir);
    }

    static String gateway(AuditRecord r) {
        String g = r.text("gateway");
        return g == null ? "" : g;
    }

    /** A source's next record and where it came from, ordered as the class comment says. */
    private record Head(AuditRecord record, int source) {
        static final Comparator<Head> ORDER = Comparator.comparing((Head h) -> h.record.time())
                .thenComparing(h -> gateway(h.record))
                .thenComparingLong(h -> h.record.number("seq"))
                .thenComparingInt(Head::source);
    }

    /** The k-way merge: one open cursor and one record per source. */
    private final class Merge implements RecordStream {
        private final List<RecordCursor> cursors = new ArrayList<>(sources.size());
        private final PriorityQueue<Head> heads = new PriorityQueue<>(Math.max(1, sources.size()), Head.ORDER);
        private final SameGateway check = new SameGateway();
        private boolean started;
        /** The source whose record was handed out last: read on only when the next record is asked for, so a stop reads no further. */
        private int advance = -1;

        @Override
        public @Nullable AuditRecord next() {
            if (!started) {
                started = true;
                for (int i = 0; i < sources.size(); i++) {
                    RecordCursor c = sources.get(i).open(warnings, sources.size() == 1 ? "" : " (trail " + sources.get(i).path() + ")");
                    cursors.add(c);
                    AuditRecord first = c.next();
                    if (first != null) {
                        heads.add(new Head(first, i));
                    }
                }
            }
            if (advance >= 0) {
                AuditRecord next = cursors.get(advance).next();
                if (next != null) {
                    heads.add(new Head(next, advance));
                }
                advance = -1;
            }
            Head h = heads.poll();
            if (h == null) {
                return null;
            }
            check.seen(h);
            advance = h.source;
            return h.record;
        }

        @Override
        public void close() {
            cursors.forEach(RecordCursor::close);
            heads.clear();
        }
    }

    /**
     * Warns, once per pair, when two sources hold records of the same gateway: a copy of one trail
     * given twice, or two gateways configured with one id. Both are read (nothing is hidden), so
     * a record can be shown twice; the warning says so.
     */
    private final class SameGateway {
        private final Map<String, Integer> owner = new HashMap<>();
        private final Set<Long> warned = new HashSet<>();

        void seen(Head h) {
            String g = gateway(h.record);
            if (sources.size() < 2 || g.isEmpty()) {
                return;
            }
            Integer first = owner.putIfAbsent(g, h.source);
            if (first != null && first != h.source && warned.add((long) first << 32 | h.source)) {
                warnings.accept("warning: " + sources.get(first).path() + " and " + sources.get(h.source).path()
                        + " both hold records of gateway \"" + TerminalText.escape(g) + "\": expected one trail per gateway"
                        + " (a copy of the same trail, or two gateways with the same id?); both are read, so records may be shown twice");
            }
        }
    }
}
