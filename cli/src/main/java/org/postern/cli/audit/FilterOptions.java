package org.postern.cli.audit;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

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
    @Option(names = "--include-checkpoints", description = "Also show audit.checkpoint records (left out by default).")
    boolean includeCheckpoints;

    RecordFilter filter(Clock clock) {
        Outcome o = null;
        if (outcome != null) {
            o = switch (outcome.toLowerCase(Locale.ROOT)) {
                case "allowed" -> Outcome.ALLOWED;
                case "denied" -> Outcome.DENIED;
                default -> throw new Exit(Exit.USAGE, "--outcome: expected allowed or denied, found \"" + outcome + "\"");
            };
        }
        RecordFilter f = new RecordFilter(device, user, Times.since("--since", since, clock), Times.until("--until", until, clock),
                types, o, dest, includeCheckpoints);
        if (f.since() != null && f.until() != null && !f.since().isBefore(f.until())) {
            throw new Exit(Exit.USAGE, "--since " + f.since() + " is not before --until " + f.until() + ": expected a non-empty period");
        }
        return f;
    }

    TrailReader reader(PrintWriter warnings) {
        return TrailReader.open(dirs, files, warnings);
    }
}
