package org.postern.cli.audit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.postern.audit.export.ExportFormat;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.Trails;
import org.postern.cli.Exit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern audit export}: the matching records in a format a SIEM or a spreadsheet reads. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export records for a SIEM or a spreadsheet: jsonl (as written), csv (RFC 4180, UTF-8 with BOM),"
                + " cef (ArcSight CEF) or ocsf (OCSF 1.3 JSON lines).", "Filters as for search; several trails (one per gateway) are merged by time.",
                "Every record names its gateway: the gateway field (jsonl), column (csv), dvchost (cef), metadata.log_provider (ocsf)."})
final class ExportCommand implements Callable<Integer> {
    @Mixin
    FilterOptions options;
    @Option(names = "--format", required = true, paramLabel = "jsonl|csv|cef|ocsf", description = "Output format.")
    String format;
    @Option(names = "--out", paramLabel = "FILE", description = "Write to FILE instead of standard output.")
    Path out;
    @ParentCommand
    AuditCommand parent;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ExportFormat f = ExportFormat.parse("--format", format);
        AuditFilter filter = options.filter(parent.clock());
        Trails reader = options.reader(spec.commandLine().getErr());
        long count;
        try (Writer w = out == null ? new NonClosing(spec.commandLine().getOut())
                : new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(out), StandardCharsets.UTF_8), 1 << 16)) {
            count = f.write(reader.stream(), filter, w);
        } catch (IOException e) {
            throw new Exit(Exit.UNAVAILABLE, (out == null ? "standard output" : out.toString()) + ": cannot write: " + e.getMessage());
        }
        if (out != null) {
            spec.commandLine().getErr().println("postern: exported " + count + " records to " + out + " (" + f.wireName() + ")");
        }
        return 0;
    }

    /** Standard output stays open after the export. */
    private static final class NonClosing extends Writer {
        private final PrintWriter delegate;

        NonClosing(PrintWriter delegate) {
            this.delegate = delegate;
        }

        @Override
        public void write(char[] buf, int off, int len) {
            delegate.write(buf, off, len);
        }

        @Override
        public void flush() {
            delegate.flush();
        }

        @Override
        public void close() {
            delegate.flush();
        }
    }
}
