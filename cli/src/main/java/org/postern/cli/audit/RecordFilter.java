package org.postern.cli.audit;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * The record selection shared by search, export and report. Every criterion given must hold;
 * none given selects every record except checkpoints (unless included).
 */
record RecordFilter(String device, String user, Instant since, Instant until, List<String> typePrefixes,
                    Outcome outcome, String dest, boolean includeCheckpoints) implements Predicate<AuditRecord> {

    RecordFilter {
        typePrefixes = typePrefixes == null ? List.of() : List.copyOf(typePrefixes);
    }

    @Override
    public boolean test(AuditRecord r) {
        if (!includeCheckpoints && r.isCheckpoint()) {
            return false;
        }
        if (since != null && r.time().isBefore(since)) {
            return false;
        }
        if (until != null && !r.time().isBefore(until)) {
            return false;
        }
        if (device != null && !device.equals(r.text("device"))) {
            return false;
        }
        if (user != null && !user.equals(r.text("user"))) {
            return false;
        }
        if (!typePrefixes.isEmpty() && typePrefixes.stream().noneMatch(p -> r.type().startsWith(p))) {
            return false;
        }
        if (outcome != null && Outcome.of(r) != outcome) {
            return false;
        }
        return dest == null || destMatches(r.text("dest")) || destMatches(r.text("destAddress"));
    }

    /** The whole value, or its host without the port, equals {@code --dest} (ignoring case). */
    private boolean destMatches(String value) {
        if (value == null) {
            return false;
        }
        String v = value.toLowerCase(Locale.ROOT);
        String want = dest.toLowerCase(Locale.ROOT);
        return v.equals(want) || Endpoint.parse(v).host().equals(want);
    }
}
