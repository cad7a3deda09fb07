package org.postern.cli.audit;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.concurrent.Callable;

import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;
import org.postern.cli.Exit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern audit verify}: prove the trail is intact, or name the first place it is not. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Verify the hash chain and the signed checkpoints of an audit trail.",
                "Exit 0 with counts when intact; exit 1 naming the first broken segment, line and what broke",
                "(edited, deleted, reordered, truncated, missing_segment, bad_signature, wrong_key, torn_tail)."})
final class VerifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "The trail directory (segment-NNNNNN.jsonl files).")
    Path dir;

    @Option(names = "--pubkey", paramLabel = "FILE",
            description = "The gateway's audit public key (PEM). Default: audit.pub in DIR or its parent.")
    Path pubkey;

    @Option(names = "--strict", description = "Also fail on records after the last checkpoint (unsealed) and on a torn tail.")
    boolean strict;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new Exit(Exit.USAGE, "expected DIR to be an audit trail directory, found " + (Files.exists(dir) ? "a file" : "nothing") + " at " + dir);
        }
        Path keyFile = pubkey != null ? pubkey : defaultKey(dir);
        PublicKey key = AuditKeys.readPublicKey(keyFile);
        AuditVerifier.Result r = AuditVerifier.verify(dir, key, strict);
        PrintWriter out = spec.commandLine().getOut();
        for (AuditVerifier.Finding f : r.findings()) {
            out.println("warning: " + f);
        }
        if (!r.ok()) {
            spec.commandLine().getErr().println("BROKEN: " + r.problem());
            return Exit.REFUSED;
        }
        out.printf("OK: %d records in %d segments, %d checkpoints, %s → %s%s%n", r.records(), r.segments(), r.checkpoints(),
                r.firstTime(), r.lastTime(), r.unsealed() > 0 ? ", " + r.unsealed() + " unsealed after the last checkpoint" : "");
        return 0;
    }

    private static Path defaultKey(Path dir) {
        for (Path p : new Path[] {dir.resolve("audit.pub"), dir.toAbsolutePath().getParent().resolve("audit.pub")}) {
            if (Files.isReadable(p)) {
                return p;
            }
        }
        throw new Exit(Exit.USAGE, "expected --pubkey FILE (the gateway's audit public key) or audit.pub in " + dir + " or its parent, found none");
    }
}
