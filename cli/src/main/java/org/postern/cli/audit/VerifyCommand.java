package org.postern.cli.audit;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.postern.audit.query.Trails;
import org.postern.audit.text.TerminalText;
import org.postern.audit.trail.Anchor;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;
import org.postern.cli.Exit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code postern audit verify}: prove each trail is intact, or name the first place it is not.
 * Several trails (one per gateway) are verified one after the other, each with its own key and
 * anchor, never as one: a gateway's trail is a chain of its own.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Verify the hash chain and the signed checkpoints of audit trails, each on its own (one per gateway).",
                "Exit 0 with counts and the anchor to keep for next time when intact; exit 1 naming the first broken segment,",
                "line and what broke (edited, deleted, reordered, truncated, missing_segment, bad_signature, wrong_key,",
                "torn_tail, empty, anchor_mismatch); exit 2 when DIR or the key file is missing or not what was expected.",
                "With several DIRs: each trail's result, then a table (gateway, trail, result, records, first break);",
                "exit 1 when any trail is broken, else 2 when any could not be checked (4 when one could not be read), else 0."})
final class VerifyCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "DIR", description = "A trail directory (segment-NNNNNN.jsonl files); several are verified one by one.")
    List<Path> dirs = new ArrayList<>();

    @Option(names = "--pubkey", paramLabel = "FILE",
            description = {"The gateway's audit public key (PEM): once for every DIR, or once per DIR in the order of the DIRs.",
                    "Default: audit.pub in DIR, its parent or the parent's parent (DATA/audit.pub for DATA/audit/trail and DATA/audit/pki)."})
    List<Path> pubkeys = new ArrayList<>();

    @Option(names = "--strict", description = "Also fail on records after the last checkpoint (unsealed) and on a torn tail.")
    boolean strict;

    @Option(names = "--allow-empty", description = "Pass a trail without records (a gateway that never wrote one); without it an empty trail fails.")
    boolean allowEmpty;

    @Option(names = "--anchor", paramLabel = "FILE|seq:N[,SHA256]",
            description = {"A record you kept from an earlier verification or from the SIEM: seq:N, seq:N,SHA256, or a FILE holding",
                    "either or the record line itself. Fails when the trail ends before it or holds another record there.",
                    "An anchor belongs to one trail: with several DIRs, give one per DIR, in the order of the DIRs."})
    List<String> anchors = new ArrayList<>();

    @Option(names = "--save-anchor", paramLabel = "FILE",
            description = {"When the trail verifies, write the anchor to keep (its last checkpoint) to FILE.",
                    "With several DIRs, give one per DIR, in the order of the DIRs."})
    List<Path> saveAnchors = new ArrayList<>();

    @Spec
    CommandSpec spec;

    /** One trail's outcome, for the table after several. */
    private record TrailResult(String gateway, Path dir, String result, String records, String firstBreak, int code) {}

    @Override
    public Integer call() throws IOException {
        perDir("--pubkey", pubkeys.size(), true);
        perDir("--anchor", anchors.size(), false);
        perDir("--save-anchor", saveAnchors.size(), false);
        List<Anchor> expected = new ArrayList<>();
        anchors.forEach(a -> expected.add(anchor(a)));
        if (dirs.size() == 1) {
            return verify(0, expected).code();
        }
        PrintWriter out = spec.commandLine().getOut();
        List<TrailResult> results = new ArrayList<>();
        for (int i = 0; i < dirs.size(); i++) {
            out.println("== trail " + dirs.get(i));
            out.flush();
            try {
                results.add(verify(i, expected));
            } catch (Exit e) {
                results.add(notChecked(i, e.getMessage(), e.code(), out));
            } catch (IOException e) {
                results.add(notChecked(i, "cannot read it: " + e.getMessage(), Exit.UNAVAILABLE, out));
            }
            out.println();
        }
        List<String[]> rows = new ArrayList<>();
        results.forEach(o -> rows.add(new String[] {o.gateway(), o.dir().toString(), o.result(), o.records(), o.firstBreak()}));
        SearchCommand.printTable(out, new String[] {"GATEWAY", "TRAIL", "RESULT", "RECORDS", "FIRST BREAK"}, rows);
        sameGateway(results, out);
        long broken = results.stream().filter(o -> o.code() == Exit.REFUSED).count();
        long failed = results.stream().filter(o -> o.code() != 0 && o.code() != Exit.REFUSED).count();
        out.println(dirs.size() + " trails: " + (dirs.size() - broken - failed) + " OK, " + broken + " broken, " + failed + " not checked");
        out.flush();
        return broken > 0 ? Exit.REFUSED : failed > 0 ? results.stream().mapToInt(TrailResult::code).filter(c -> c != 0).findFirst().orElse(Exit.USAGE) : 0;
    }

    /** A trail that could not be verified at all; the others still are. */
    private TrailResult notChecked(int i, String why, int code, PrintWriter out) {
        String text = TerminalText.escape(why);
        out.println("ERROR: " + text);
        spec.commandLine().getErr().println("postern: " + dirs.get(i) + ": " + text);
        return new TrailResult("-", dirs.get(i), "ERROR", "-", text, code);
    }

    /** An option given per trail: absent, once per DIR, or (for a key) once for them all. */
    private void perDir(String option, int given, boolean oneForAll) {
        if (given == 0 || given == dirs.size() || (oneForAll && given == 1)) {
            return;
        }
        throw new Exit(Exit.USAGE, option + ": expected " + (oneForAll ? "one for every DIR or " : "none or ") + "one per DIR ("
                + dirs.size() + ", in the order of the DIRs), found " + given);
    }

    /** Verifies the i-th trail, printing what a single verification prints. */
    private TrailResult verify(int i, List<Anchor> expectedAnchors) throws IOException {
        Path dir = dirs.get(i);
        if (!Files.isDirectory(dir)) {
            throw new Exit(Exit.USAGE, "expected DIR to be an audit trail directory, found " + (Files.exists(dir) ? "a file" : "nothing") + " at " + dir);
        }
        Path given = pubkeys.isEmpty() ? null : pubkeys.get(pubkeys.size() == 1 ? 0 : i);
        Path keyFile = given != null ? given : defaultKey(dir);
        PublicKey key;
        try {
            key = AuditKeys.readPublicKey(keyFile);
        } catch (IOException e) {
            throw new Exit(Exit.USAGE, (given != null ? "--pubkey " : "audit public key ") + TerminalText.escape(e.getMessage()));
        }
        Anchor expected = expectedAnchors.isEmpty() ? null : expectedAnchors.get(i);
        AuditVerifier.Result r = AuditVerifier.verify(dir, key, new AuditVerifier.Options(strict, allowEmpty, expected));
        String gateway = r.gateway() == null ? "-" : TerminalText.escape(r.gateway());
        PrintWriter out = spec.commandLine().getOut();
        for (AuditVerifier.Finding f : r.findings()) {
            out.println("warning: " + TerminalText.escape(f.toString()));
        }
        if (!r.ok()) {
            String problem = TerminalText.escape(String.valueOf(r.problem()));
            if (r.problem().kind() == AuditVerifier.Kind.EMPTY && r.segments() == 0) {
                // all segments deleted, or not a trail at all (a data directory): a failure either way, and what is there tells which
                problem += " (" + TerminalText.escape(Trails.contents(dir)) + ")";
            }
            out.flush();
            spec.commandLine().getErr().println("BROKEN: " + (dirs.size() == 1 ? "" : "gateway " + gateway + ", " + dir + ": ") + problem);
            spec.commandLine().getErr().flush();
            if (dirs.size() > 1) {
                out.println("BROKEN: " + problem);
            }
            return new TrailResult(gateway, dir, "BROKEN", Long.toString(r.records()), problem, Exit.REFUSED);
        }
        out.printf("OK: %d records in %d segments, %d checkpoints, %s → %s%s%n", r.records(), r.segments(), r.checkpoints(),
                r.firstTime(), r.lastTime(), r.unsealed() > 0 ? ", " + r.unsealed() + " unsealed after the last checkpoint" : "");
        if (dirs.size() > 1) {
            out.println("gateway: " + gateway);
        }
        out.println("key: " + keyFile + " (keyId " + AuditKeys.keyId(key) + ")");
        if (expected != null) {
            out.println("anchor " + expected.text() + ": found, and the trail chains from it");
        }
        if (r.anchor() != null) {
            out.println("anchor to keep: " + r.anchor().text() + " (the last checkpoint; next time: --anchor " + r.anchor().text() + ")");
            if (!saveAnchors.isEmpty()) {
                Files.writeString(saveAnchors.get(i), r.anchor().text() + "\n", StandardCharsets.UTF_8);
            }
        } else {
            out.println("anchor to keep: none yet (no checkpoint in the trail)");
        }
        out.flush();
        return new TrailResult(gateway, dir, "OK", Long.toString(r.records()), "-", 0);
    }

    /** Two trails of one gateway: a copy given twice, or two gateways configured with the same id. */
    private static void sameGateway(List<TrailResult> results, PrintWriter out) {
        Map<String, Path> first = new HashMap<>();
        for (TrailResult o : results) {
            if (o.gateway().equals("-")) {
                continue;
            }
            Path other = first.putIfAbsent(o.gateway(), o.dir());
            if (other != null) {
                out.println("warning: " + other + " and " + o.dir() + " are both trails of gateway " + o.gateway()
                        + ": expected one trail per gateway (a copy of the same trail, or two gateways with the same id?)");
            }
        }
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
