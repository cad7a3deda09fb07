package org.postern.audit.query;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

import org.jspecify.annotations.Nullable;

/**
 * Which records to keep: the selection {@code postern audit search|export|report} and the console
 * share, built from plain values (the CLI's options, the console's query string), so both select
 * the same records for the same criteria. Every criterion given must hold; a null (or empty list)
 * is no criterion. With none given every record is kept except checkpoints (unless included).
 *
 * @param since              from this time on (inclusive), or null
 * @param until              before this time (exclusive), or null; after {@code since} when both are given
 * @param device             the record's {@code device} equals this, or null
 * @param user               the record's {@code user} equals this, or null
 * @param typePrefixes       the record's {@code type} starts with one of these ({@code pki.}, {@code session}); empty for any
 * @param outcome            the record's {@link Outcome}, or null
 * @param dest               the record's {@code dest} or {@code destAddress} is this host, with or without its port (ignoring case), or null
 * @param reason             the record's {@code reason} field equals this exactly ({@code policy.no_rule}, {@code non_compliant}),
 *                           or null; posture decisions carry their codes in {@code reasons} and are not matched by it
 * @param includeCheckpoints keep {@code audit.checkpoint} records too
 */
public record AuditFilter(@Nullable Instant since, @Nullable Instant until, @Nullable String device, @Nullable String user,
                          List<String> typePrefixes, @Nullable Outcome outcome, @Nullable String dest, @Nullable String reason,
                          boolean includeCheckpoints) implements Predicate<AuditRecord> {

    /** No criterion: every record but checkpoints. */
    public static final AuditFilter ALL = new AuditFilter(null, null, null, null, List.of(), null, null, null, false);

    /**
     * @throws IllegalArgumentException when {@code since} is not before {@code until}, or a type prefix is null
     */
    public AuditFilter {
        if (since != null && until != null && !since.isBefore(until)) {
            throw new IllegalArgumentException("since " + since + " is not before until " + until + ": expected a non-empty period");
        }
        if (typePrefixes == null) {
            typePrefixes = List.of();
        } else if (typePrefixes.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("type prefixes: expected text like pki. or session, found null in " + typePrefixes);
        } else {
            typePrefixes = List.copyOf(typePrefixes);
        }
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
        if (reason != null && !reason.equals(r.text("reason"))) {
            return false;
        }
        return dest == null || destMatches(dest, r.text("dest")) || destMatches(dest, r.text("destAddress"));
    }

    /** The whole value, or its host without the port, equals {@code dest} (ignoring case). */
    private static boolean destMatches(String dest, @Nullable String value) {
        if (value == null) {
            return false;
        }
        String v = value.toLowerCase(Locale.ROOT);
        String want = dest.toLowerCase(Locale.ROOT);
        return v.equals(want) || Endpoint.parse(v).host().equals(want);
    }
}
