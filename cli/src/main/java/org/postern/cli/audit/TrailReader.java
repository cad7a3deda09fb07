package org.postern.cli.audit;

import java.io.PrintWriter;
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

import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.cli.Exit;
import org.postern.cli.TerminalText;

/**
 * Reads the trails given — one per gateway, each DIR and each {@code --file} — and hands their
 * records on merged by time: a k-way merge of the sources, each read in its written order by its
 * own {@link RecordCursor}, so memory holds one record per source whatever the trails' size.
 *
 * <p>The rule, for sources whose times are not in order (a clock stepped back on one gateway):
 * the next record is the earliest of the sources' next records, by {@code time}, then
 * {@code gateway}, then {@code seq}, then the order the sources were given. A source's own order
 * is never changed, so a record that goes back in time comes right after its predecessor in its
 * trail, not earlier. With one source the records come exactly as written.
 */
final class TrailReader {
    static final ObjectMapper JSON = new ObjectMapper();

    private final List<TrailSource> sources;
    private final PrintWriter warnings;

    private TrailReader(List<TrailSource> sources, PrintWriter warnings) {
        this.sources = List.copyOf(sources);
        this.warnings = warnings;
    }

    /** The trail directories and {@code --file} sources; exit 2 when none is given or one is not what was expected. */
    static TrailReader open(List<Path> dirs, List<Path> files, PrintWriter warnings) {
        if (dirs.isEmpty() && files.isEmpty()) {
            throw new Exit(Exit.USAGE, "expected an audit directory DIR or --file FILE, found neither");
        }
        List<TrailSource> sources = new ArrayList<>();
        dirs.forEach(d -> sources.add(TrailSource.directory(d)));
        files.forEach(f -> sources.add(TrailSource.file(f)));
        return new TrailReader(sources, warnings);
    }

    /** A source's next record and where it came from, ordered as the class comment says. */
    private record Head(AuditRecord record, int source) {
        static final Comparator<Head> ORDER = Comparator.comparing((Head h) -> h.record.time())
                .thenComparing(h -> gateway(h.record))
                .thenComparingLong(h -> h.record.number("seq"))
                .thenComparingInt(Head::source);
    }

    /** Passes every record that parses to {@code sink}, the sources merged by time (see the class comment). */
    void forEach(Consumer<AuditRecord> sink) {
        read(r -> {
            sink.accept(r);
            return true;
        });
    }

    /** Like {@link #forEach}, until {@code sink} answers false (search's {@code --limit}: the rest is not read). */
    void read(Predicate<AuditRecord> sink) {
        List<RecordCursor> cursors = new ArrayList<>(sources.size());
        try {
            PriorityQueue<Head> heads = new PriorityQueue<>(Math.max(1, sources.size()), Head.ORDER);
            for (int i = 0; i < sources.size(); i++) {
                RecordCursor c = sources.get(i).open(warnings, sources.size() == 1 ? "" : " (trail " + sources.get(i).path() + ")");
                cursors.add(c);
                AuditRecord first = c.next();
                if (first != null) {
                    heads.add(new Head(first, i));
                }
            }
            SameGateway check = new SameGateway();
            while (!heads.isEmpty()) {
                Head h = heads.poll();
                check.seen(h);
                if (!sink.test(h.record)) {
                    return;
                }
                AuditRecord next = cursors.get(h.source).next();
                if (next != null) {
                    heads.add(new Head(next, h.source));
                }
            }
        } finally {
            cursors.forEach(RecordCursor::close);
        }
    }

    static String gateway(AuditRecord r) {
        String g = r.text("gateway");
        return g == null ? "" : g;
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
                warnings.println("postern: warning: " + sources.get(first).path() + " and " + sources.get(h.source).path()
                        + " both hold records of gateway \"" + TerminalText.escape(g) + "\": expected one trail per gateway"
                        + " (a copy of the same trail, or two gateways with the same id?); both are read, so records may be shown twice");
                warnings.flush();
            }
        }
    }
}
