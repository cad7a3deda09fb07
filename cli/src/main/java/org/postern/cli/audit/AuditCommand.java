package org.postern.cli.audit;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

import org.postern.audit.query.Trails;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code postern audit …}: read the audit trail for auditors: search, export for a SIEM, report. */
@Command(name = "audit", mixinStandardHelpOptions = true,
        description = "Verify, search, export and summarize the audit trail, and report who reached what (read only; see docs/audit.md).",
        subcommands = {VerifyCommand.class, SearchCommand.class, ExportCommand.class, ReportCommand.class, AccessCommand.class, PubkeyCommand.class})
public final class AuditCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** "Now" for relative times like -24h; a test sets a fixed clock. */
    private Clock clock = Clock.systemUTC();

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    Clock clock() {
        return clock;
    }

    void useClock(Clock clock) {
        this.clock = clock;
    }

    /** The trails DIR… and --file …, their warnings printed to {@code err} as {@code postern: …} lines. */
    static Trails trails(List<Path> dirs, List<Path> files, PrintWriter err) {
        return Trails.open(dirs, files, line -> {
            err.println("postern: " + line);
            err.flush();
        });
    }
}
