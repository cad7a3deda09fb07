package org.postern.gateway.console;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.postern.gateway.console.ConsoleViews.AccessRow;
import org.postern.gateway.console.ConsoleViews.Count;
import org.postern.gateway.console.ConsoleViews.DayRow;
import org.postern.gateway.console.ConsoleViews.PostureRow;
import org.postern.gateway.console.ConsoleViews.RecordRow;
import org.postern.gateway.console.ConsoleViews.TrailState;

/**
 * The console's reads of the gateway's audit trail: through the index kept beside it for searches,
 * straight from the trail for verification. Results are read back from the trail, the record of
 * truth, and filtered again with the same filter {@code postern audit search} applies. A filter
 * the auditor typed wrong (a time that does not parse, an unknown outcome) throws
 * {@link IllegalArgumentException} whose message says what was expected and found.
 */
public interface ConsoleAudit {

    /**
     * One page of matching records.
     *
     * @param next    the cursor of the next page (opaque text for a link), or null on the last page
     * @param counted how many match, as shown ("1234", "100000+"); empty where the page shows no count
     */
    record Page<T>(List<T> rows, @Nullable String next, String counted) {}

    /** Up to {@code size} records matching {@code filter} after the cursor {@code after} (null: from the first). */
    Page<RecordRow> search(ConsoleViews.Filter filter, @Nullable String after, int size) throws IOException;

    /** The access report's rows (one per flow.open) matching {@code filter}. */
    Page<AccessRow> access(ConsoleViews.Filter filter, @Nullable String after, int size) throws IOException;

    /** Denials matching {@code filter}: counts per reason and per device, largest first. */
    List<List<Count>> denials(ConsoleViews.Filter filter) throws IOException;

    /** Throws {@link IllegalArgumentException} saying what is wrong with {@code filter}, else nothing; reads nothing. */
    void check(ConsoleViews.Filter filter);

    /** Writes every record matching {@code filter} in {@code format} (jsonl, csv, cef, ocsf). */
    void export(ConsoleViews.Filter filter, String format, OutputStream out) throws IOException;

    /** The export formats, as the CLI names them. */
    List<String> formats();

    /** The remote-work indicators per UTC day over [from, to). */
    List<DayRow> days(Instant from, Instant to) throws IOException;

    /** Denials by reason over [from, to), largest first. */
    List<Count> denialReasons(Instant from, Instant to) throws IOException;

    /** The last posture decision recorded for {@code device}, or null. */
    @Nullable PostureRow lastPosture(String device) throws IOException;

    /** Why the trail cannot be written now, or null when it can (actions are refused while it cannot). */
    @Nullable String unwritable();

    /** The trail's state for the dashboard (the last verification is remembered, not rerun). */
    TrailState state();

    /** Verifies the trail as {@code postern audit verify} does. */
    VerifyResult verify() throws IOException;

    /** What a verification found. */
    record VerifyResult(String dir, boolean ok, long records, int segments, long checkpoints, @Nullable String firstBreak,
                        List<String> findings) {}
}
