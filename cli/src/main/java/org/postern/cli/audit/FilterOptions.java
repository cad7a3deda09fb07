package org.postern.cli.audit;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.Outcome;
import org.postern.audit.query.Times;
import org.postern.audit.query.Trails;
import org.postern.cli.Exit;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Where to read and which records to keep: the options search, export and report share. */
final class FilterOptions {
    @Parameters(arity = "0..*", paramLabel = "DIR", description = {"An audit trail directory (segment-NNNNNN.jsonl files).",
            "Several (one per gateway) are merged by time."})
    List<Path> dirs = new ArrayList<>();
    @Option(names = "--file", paramLabel = "FILE", description = "Also read another trail directory, like the PKI's DATA/audit/pki, or a JSON-lines file without chain, like an old DATA/audit/pki-audit.jsonl (repeatable; merged by time with the rest).")
    List<Path> files = new ArrayList<>();
    @Option(names = "--device", paramLabel = "ID", description = "Only records of this device.")
    String device;
    @Option(names = "--user", paramLabel = "USER", description = "Only records of this user.")
    String user;
    @Option(names = "--since", paramLabel = "TIME", description = "From this time on (inclusive): 2026-11-30T08:00:00Z, 2026-11-30, -24h, -7d.")
    String since;
    @Option(names = "--until", paramLabel = "TIME", description = "Before this time (exclusive; a date includes its whole day).")
    String until;
    @Option(names = "--type", split = ",", paramLabel = "PREFIX", description = "Only types starting with one of these, like pki. or session (repeatable).")
    List<String> types = new ArrayList<>();
    @Option(names = "--outcome", paramLabel = "allowed|denied", description = "denied: access.denied, tls.rejected, *.denied, posture non_compliant, sessions ended by the gateway for non_compliant, revoked or suspended; allowed: all others.")
    String outcome;
    @Option(names = "--dest", paramLabel = "HOST", description = "Only records whose dest or destAddress is this host (with or without port).")
    String dest;
    @Option(names = "--reason", paramLabel = "CODE", description = "Only records whose reason field is exactly this code, like policy.no_rule or non_compliant (posture decisions list theirs in reasons and are not matched).")
    String reason;
    @Option(names = "--include-checkpoints", description = "Also show audit.checkpoint records (left out by default).")
    boolean includeCheckpoints;

    AuditFilter filter(Clock clock) {
        Outcome o = outcome == null ? null : Outcome.parse("--outcome", outcome);
        Instant from = Times.since("--since", since, clock);
        Instant to = Times.until("--until", until, clock);
        if (from != null && to != null && !from.isBefore(to)) {
            throw new Exit(Exit.USAGE, "--since " + from + " is not before --until " + to + ": expected a non-empty period");
        }
        return new AuditFilter(from, to, device, user, types, o, dest, reason, includeCheckpoints);
    }

    /** The trails given; warnings go to {@code err} as {@code postern: …} lines. */
    Trails reader(PrintWriter err) {
        return AuditCommand.trails(dirs, files, err);
    }
}
