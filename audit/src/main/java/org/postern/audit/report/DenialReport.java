package org.postern.audit.report;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.Outcome;
import org.postern.audit.query.RecordStream;

/**
 * Denials per device and per reason: the records whose {@link Outcome} is {@code denied}
 * (docs/audit.md, "Searching and exporting") among those the filter keeps, counted by device
 * ({@code -} for a refusal before any device was known, a rejected certificate say) and by reason
 * code. A non-compliant posture decision counts once under each of its {@code reasons} codes, as
 * in {@code postern audit report}, so the reason counts can sum to more than {@link Result#denied()}.
 */
public final class DenialReport {

    /**
     * The counts; every map is in key order.
     *
     * @param denied            denied records
     * @param byDevice          device → denied records
     * @param byReason          reason code → count
     * @param byDeviceAndReason device → reason code → count
     */
    public record Result(long denied, Map<String, Long> byDevice, Map<String, Long> byReason,
                         Map<String, Map<String, Long>> byDeviceAndReason) {}

    private final Predicate<AuditRecord> filter;
    private long denied;
    private final Map<String, Long> byDevice = new TreeMap<>();
    private final Map<String, Long> byReason = new TreeMap<>();
    private final Map<String, Map<String, Long>> byDeviceAndReason = new TreeMap<>();

    /** @param filter which records count (an {@code AuditFilter}: a period, a device, …); only denied ones are counted */
    public DenialReport(Predicate<AuditRecord> filter) {
        this.filter = filter;
    }

    /** The counts over {@code records} (closed after). */
    public static Result run(RecordStream records, Predicate<AuditRecord> filter) {
        DenialReport report = new DenialReport(filter);
        try (records) {
            for (AuditRecord r = records.next(); r != null; r = records.next()) {
                report.accept(r);
            }
        }
        return report.result();
    }

    /** Takes the next record. */
    public void accept(AuditRecord r) {
        if (!filter.test(r)) {
            return;
        }
        List<String> reasons = Denials.reasons(r);
        if (reasons.isEmpty()) {
            return;
        }
        denied++;
        String device = r.text("device") == null || r.text("device").isEmpty() ? "-" : r.text("device");
        byDevice.merge(device, 1L, Long::sum);
        Map<String, Long> mine = byDeviceAndReason.computeIfAbsent(device, d -> new TreeMap<>());
        for (String reason : reasons) {
            byReason.merge(reason, 1L, Long::sum);
            mine.merge(reason, 1L, Long::sum);
        }
    }

    /** The counts so far. */
    public Result result() {
        Map<String, Map<String, Long>> nested = new TreeMap<>();
        byDeviceAndReason.forEach((d, m) -> nested.put(d, Collections.unmodifiableMap(new TreeMap<>(m))));
        return new Result(denied, Collections.unmodifiableMap(new TreeMap<>(byDevice)), Collections.unmodifiableMap(new TreeMap<>(byReason)),
                Collections.unmodifiableMap(nested));
    }
}
