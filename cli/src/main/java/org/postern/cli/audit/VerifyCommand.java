package org.postern.cli.audit;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.postern.audit.trail.Anchor;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;
import org.postern.cli.Exit;
import org.postern.cli.TerminalText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern audit verify}: prove the trail is intact, or name the first place it is not. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Verify the hash chain and the signed checkpoints of an audit trail.",
                "Exit 0 with counts and the anchor to keep for next time when intact; exit 1 naming the first broken segment,",
                "line and what broke (edited, deleted, reordered, truncated, missing_segment, bad_signature, wrong_key,",
                "torn_tail, empty, anchor_mismatch); exit 2 when DIR or the key file is missing or not what was expected."})
final class VerifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "The trail directory (segment-NNNNNN.jsonl files).")
    Path dir;

    @Option(names = "--pubkey", paramLabel = "FILE",
            description = "The gateway's audit public key (PEM). Default: audit.pub in DIR, its parent or the parent's parent"
                    + " (DATA/audit.pub for DATA/audit/trail and DATA/audit/pki).")
    Path pubkey;

    @Option(names = "--strict", description = "Also fail on records after the last checkpoint (unsealed) and on a torn tail.")
    boolean strict;

    @Option(names = "--allow-empty", description = "Pass a trail without records (a gateway that never wrote one); without it an empty trail fails.")
    boolean allowEmpty;

    @Option(names = "--anchor", paramLabel = "FILE|seq:N[,SHA256]",
            description = {"A record you kept from an earlier verification or from the SIEM: seq:N, seq:N,SHA256, or a FILE holding",
                    "either or the record line itself. Fails when the trail ends before it or holds another record there."})
    String anchor;

    @Option(names = "--save-anchor", paramLabel = "FILE", description = "When the trail verifies, write the anchor to keep (its last checkpoint) to FILE.")
    Path saveAnchor;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new Exit(Exit.USAGE, "expected DIR to be an audit trail directory, found " + (Files.exists(dir) ? "a file" : "nothing") + " at " + dir);
        }
        Path keyFile = pubkey != null ? pubkey : defaultKey(dir);
        PublicKey key;
        try {
            key = AuditKeys.readPublicKey(keyFile);
        } catch (IOException e) {
            throw new Exit(Exit.USAGE, (pubkey != null ? "--pubkey " : "audit public key ") + TerminalText.escape(e.getMessage()));
        }
        Anchor expected = anchor == null ? null : anchor(anchor);
        AuditVerifier.Result r = AuditVerifier.verify(dir, key, new AuditVerifier.Options(strict, allowEmpty, expected));
        PrintWriter out = spec.commandLine().getOut();
        for (AuditVerifier.Finding f : r.findings()) {
            out.println("warning: " + TerminalText.escape(f.toString()));
        }
        if (!r.ok()) {
            out.flush();
            spec.commandLine().getErr().println("BROKEN: " + TerminalText.escape(String.valueOf(r.problem())));
            return Exit.REFUSED;
        }
        out.printf("OK: %d records in %d segments, %d checkpoints, %s → %s%s%n", r.records(), r.segments(), r.checkpoints(),
                r.firstTime(), r.lastTime(), r.unsealed() > 0 ? ", " + r.unsealed() + " unsealed after the last checkpoint" : "");
        out.println("key: " + keyFile + " (keyId " + AuditKeys.keyId(key) + ")");
        if (expected != null) {
            out.println("anchor " + expected.text() + ": found, and the trail chains from it");
        }
        if (r.anchor() != null) {
            out.println("anchor to keep: " + r.anchor().text() + " (the last checkpoint; next time: --anchor " + r.anchor().text() + ")");
            if (saveAnchor != null) {
                Files.writeString(saveAnchor, r.anchor().text() + "\n", StandardCharsets.UTF_8);
            }
        } else {
            out.println("anchor to keep: none yet (no checkpoint in the trail)");
        }
        out.flush();
        return 0;
    }

    /** {@code seq:N[,SHA256]}, or a file holding that or a record line. */
    private static Anchor anchor(String value) {
        String text = value;
        if (!value.startsWith("seq:")) {
            Path file = Path.of(value);
            if (!Files.isRegularFile(file)) {
                throw new Exit(Exit.USAGE, "--anchor: expected seq:N, seq:N,SHA256 or a FILE holding either or a record line, found "
                        + (Files.exists(file) ? "a directory" : "no file") + " at " + TerminalText.escape(value));
            }
            try {
                text = Files.readString(file, StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).findFirst().orElse("");
            } catch (IOException e) {
                throw new Exit(Exit.USAGE, "--anchor " + file + ": cannot read it: " + e.getMessage());
            }
        }
        try {
            return Anchor.parse(text);
        } catch (IllegalArgumentException e) {
            throw new Exit(Exit.USAGE, "--" + TerminalText.escape(e.getMessage()) + (text.equals(value) ? "" : " (in " + TerminalText.escape(value) + ")"));
        }
    }

    /** DIR/audit.pub, then up to two levels up: the gateway and the PKI write DATA/audit.pub beside DATA/audit/. */
    private static Path defaultKey(Path dir) {
        List<Path> tried = new ArrayList<>();
        Path d = dir.toAbsolutePath().normalize();
        for (int i = 0; i < 3 && d != null; i++, d = d.getParent()) {
            Path p = d.resolve("audit.pub");
            tried.add(p);
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new Exit(Exit.USAGE, "expected --pubkey FILE (the gateway's audit public key) or one of " + tried + ", found none");
    }
}
