package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.cli.PosternCliIT;
import org.postern.cli.PosternCommand;

/**
 * Issue 11, items 4 and 13: {@code postern audit verify} and {@code pubkey} as an auditor runs them,
 * on a data directory laid out as the gateway writes it ({@code DATA/audit.key}, {@code DATA/audit.pub},
 * {@code DATA/audit/trail}).
 */
class AuditVerifyAnchorCliIT {
    @TempDir
    Path tmp;
    Path data;
    Path trail;
    AuditKeys keys;

    @BeforeEach
    void writeTrail() throws Exception {
        data = tmp.resolve("data");
        trail = data.resolve("audit/trail");
        keys = AuditKeys.loadOrCreate(data.resolve("audit.key"), new SecureRandom());
        keys.exportPublicKey(data.resolve("audit.pub")); // as GatewayServer does
        write(trail, 20);
    }

    private void write(Path dir, int n) throws IOException {
        try (AuditTrail t = new AuditTrail(dir, AuditTrailConfig.defaults("gw-test"), keys)) {
            for (int i = 0; i < n; i++) {
                t.record(AuditEvent.of("session.start", Instant.now()).with("device", "laptop-" + i).with("user", "alice").build());
            }
        }
    }

    private static PosternCliIT.Run run(String... args) {
        return PosternCliIT.run(args);
    }

    /** {@code postern ARGS} in its own JVM, as the launcher runs it: what it printed reaches the pipe. */
    private PosternCliIT.Run process(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), PosternCommand.class.getName()));
        cmd.addAll(List.of(args));
        Path out = tmp.resolve("stdout");
        Path err = tmp.resolve("stderr");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new PosternCliIT.Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private String anchorToKeep(PosternCliIT.Run ok) {
        String line = ok.out().lines().filter(l -> l.startsWith("anchor to keep: ")).findFirst().orElseThrow();
        return line.substring("anchor to keep: ".length(), line.indexOf(' ', "anchor to keep: ".length()));
    }

    // ---- item 13: pubkey, key files, default lookup

    @Test
    void pubkey_inItsOwnProcess_printsTheKey_andVerifyTakesIt() throws Exception {
        PosternCliIT.Run pub = process("audit", "pubkey", data.resolve("audit.key").toString());
        assertThat(pub.code()).as(pub.err()).isZero();
        assertThat(pub.out()).startsWith("-----BEGIN PUBLIC KEY-----\n").endsWith("-----END PUBLIC KEY-----\n")
                .isEqualTo(Files.readString(data.resolve("audit.pub")));
        Path copy = Files.writeString(tmp.resolve("auditor.pub"), pub.out());
        PosternCliIT.Run ok = process("audit", "verify", trail.toString(), "--pubkey", copy.toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("OK: 21 records in 1 segments, 1 checkpoints");
    }

    /** The command the demo prints for auditors: {@code postern audit verify DATA/audit/trail}, no --pubkey. */
    @Test
    void verify_withoutPubkey_findsDataAuditPub_asTheDemoPrintsIt() throws Exception {
        PosternCliIT.Run ok = process("audit", "verify", trail.toString());
        assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("OK: 21 records").contains("key: " + data.toAbsolutePath().resolve("audit.pub"));
        Files.delete(data.resolve("audit.pub"));
        PosternCliIT.Run none = run("audit", "verify", trail.toString());
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("expected --pubkey FILE (the gateway's audit public key) or one of [")
                .contains(data.toAbsolutePath().resolve("audit.pub").toString()).contains("found none");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "empty file           | '' | an empty file",
            "white space          | '   \n' | only white space (4 bytes)",
            "garbage              | 'hello auditor' | 13 bytes without that PEM block",
            "the private key      | PRIVATE | a private key (give auditors the output of postern audit pubkey KEYFILE instead)",
            "a certificate        | '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' | without that PEM block (another PEM block: -----BEGIN CERTIFICATE-----)",
            "body without base64  | '-----BEGIN PUBLIC KEY-----\n!!!*\n-----END PUBLIC KEY-----\n' | a PEM block that is not an EC public key (0 bytes of DER: ",
            "body not a key       | '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' | a PEM block that is not an EC public key (3 bytes of DER",
            "an RSA key           | RSA | an RSA public key, not an EC one",
            "a P-384 key          | P384 | an EC public key on another curve (384-bit)",
    })
    void verify_badKeyFile_isExit2_namingWhatWasExpectedAndFound(String name, String content, String found) throws Exception {
        String text = switch (content) {
            case "PRIVATE" -> Files.readString(data.resolve("audit.key"));
            case "RSA" -> pem(KeyPairGenerator.getInstance("RSA"), null);
            case "P384" -> pem(KeyPairGenerator.getInstance("EC"), "secp384r1");
            default -> content;
        };
        Path key = Files.writeString(tmp.resolve("bad.pub"), text);
        PosternCliIT.Run r = run("audit", "verify", trail.toString(), "--pubkey", key.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).startsWith("postern: --pubkey " + key + ": expected the audit public key (PEM \"-----BEGIN PUBLIC KEY-----\", ECDSA P-256,"
                + " as postern audit pubkey prints it), found ").contains(found).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(r.err().lines()).hasSize(1);
    }

    @Test
    void verify_missingKeyFile_orAnotherP256Key() throws Exception {
        PosternCliIT.Run missing = run("audit", "verify", trail.toString(), "--pubkey", tmp.resolve("nope.pub").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("found nothing there").hasLineCount(1);
        Path other = Files.writeString(tmp.resolve("other.pub"), AuditKeys.generate(new SecureRandom()).publicKeyPem());
        PosternCliIT.Run wrong = run("audit", "verify", trail.toString(), "--pubkey", other.toString());
        assertThat(wrong.code()).isEqualTo(1);
        assertThat(wrong.err()).contains("BROKEN: wrong_key at segment-000001.jsonl:21 (seq 21): the checkpoint is signed by key " + keys.keyId());
    }

    @Test
    void pubkey_badKeyFile_isExit2_withoutAStackTrace() throws Exception {
        PosternCliIT.Run missing = run("audit", "pubkey", tmp.resolve("nope.key").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("expected KEYFILE to be the audit signing key (DATA/audit.key, PKCS#8 PEM), found nothing at");
        Path pubGiven = Files.createFile(tmp.resolve("given.key"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(pubGiven, keys.publicKeyPem());
        PosternCliIT.Run wrong = run("audit", "pubkey", pubGiven.toString());
        assertThat(wrong.code()).isEqualTo(2);
        assertThat(wrong.err()).contains("expected a PEM block \"-----BEGIN PRIVATE KEY-----\", found none").doesNotContain("\tat ");
    }

    // ---- item 4: empty trails and anchors

    @Test
    void verify_everySegmentDeleted_failsUnlessAnEmptyTrailIsExpected() throws Exception {
        try (var files = Files.list(trail)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("segment-")).toList()) {
                Files.delete(f);
            }
        }
        PosternCliIT.Run r = run("audit", "verify", trail.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("BROKEN: empty: no segment files in " + trail
                + ": expected at least segment-000001.jsonl (every segment was deleted, or this is not the trail)"
                + " (it holds trail.lock)\n"); // the lock a writer left: this was a trail
        assertThat(r.out()).doesNotContain("OK");
        PosternCliIT.Run allowed = run("audit", "verify", trail.toString(), "--allow-empty");
        assertThat(allowed.code()).as(allowed.err()).isZero();
        assertThat(allowed.out()).contains("OK: 0 records in 0 segments").contains("anchor to keep: none yet");
    }

    @Test
    void verify_segmentEmptied_isEmpty() throws Exception {
        Files.write(trail.resolve("segment-000001.jsonl"), new byte[0]);
        PosternCliIT.Run r = run("audit", "verify", trail.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("BROKEN: empty at segment-000001.jsonl: the segment files hold no records");
    }

    @Test
    void verify_printsTheAnchor_andWithItDetectsACutTail() throws Exception {
        PosternCliIT.Run ok = run("audit", "verify", trail.toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        String anchor = anchorToKeep(ok);
        Path seg = trail.resolve("segment-000001.jsonl");
        List<String> lines = Files.readAllLines(seg, StandardCharsets.UTF_8);
        assertThat(anchor).isEqualTo("seq:21," + TestTrail.sha256(lines.get(20)));

        PosternCliIT.Run again = run("audit", "verify", trail.toString(), "--anchor", anchor);
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out()).contains("anchor " + anchor + ": found, and the trail chains from it");

        // cut the tail: what is left verifies alone, but not against the anchor
        Files.write(seg, lines.subList(0, 12), StandardCharsets.UTF_8);
        assertThat(run("audit", "verify", trail.toString()).code()).isZero();
        PosternCliIT.Run cut = run("audit", "verify", trail.toString(), "--anchor", anchor);
        assertThat(cut.code()).isEqualTo(1);
        assertThat(cut.err()).startsWith("BROKEN: truncated at segment-000001.jsonl:12 (seq 13): the trail ends at seq 12, before the anchor " + anchor);
        PosternCliIT.Run cutSeqOnly = run("audit", "verify", trail.toString(), "--anchor", "seq:21");
        assertThat(cutSeqOnly.code()).isEqualTo(1);
        assertThat(cutSeqOnly.err()).contains("the trail ends at seq 12, before the anchor seq:21");
    }

    @Test
    void verify_rewrittenTrail_doesNotChainFromTheAnchor() throws Exception {
        String anchor = anchorToKeep(run("audit", "verify", trail.toString()));
        // someone with the key writes a new trail of the same length in its place
        Path old = Files.move(trail, tmp.resolve("old"));
        write(trail, 20);
        assertThat(run("audit", "verify", trail.toString()).code()).isZero();
        PosternCliIT.Run r = run("audit", "verify", trail.toString(), "--anchor", anchor);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("BROKEN: anchor_mismatch at segment-000001.jsonl:21 (seq 21): the record's SHA-256 is ")
                .contains(", expected the anchor's " + anchor.substring(anchor.indexOf(',') + 1));
        assertThat(old).exists();
    }

    @Test
    void verify_anchorFile_holdingTheCheckpointLine_orSavedByVerify() throws Exception {
        Path seg = trail.resolve("segment-000001.jsonl");
        String checkpoint = Files.readAllLines(seg, StandardCharsets.UTF_8).get(20);
        Path kept = Files.writeString(tmp.resolve("kept.jsonl"), checkpoint + "\n");
        PosternCliIT.Run line = run("audit", "verify", trail.toString(), "--anchor", kept.toString());
        assertThat(line.code()).as(line.err()).isZero();
        assertThat(line.out()).contains("anchor seq:21," + TestTrail.sha256(checkpoint) + ": found");

        Path saved = tmp.resolve("anchor.txt");
        assertThat(run("audit", "verify", trail.toString(), "--save-anchor", saved.toString()).code()).isZero();
        assertThat(Files.readString(saved)).isEqualTo("seq:21," + TestTrail.sha256(checkpoint) + "\n");
        // one more record changes nothing before the anchor
        Files.writeString(seg, Files.readString(seg).replace("laptop-3\"", "laptop-9\""));
        PosternCliIT.Run edited = run("audit", "verify", trail.toString(), "--anchor", saved.toString());
        assertThat(edited.code()).isEqualTo(1);
        assertThat(edited.err()).startsWith("BROKEN: edited at segment-000001.jsonl:4");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "seq:x            | --anchor: expected seq:N or seq:N,SHA256 (64 lower-case hex digits) or a record line of the trail, found \"seq:x\"",
            "seq:0            | --anchor: expected a seq of 1 or more, found 0",
            "seq:5,ABC        | --anchor: expected seq:N or seq:N,SHA256 (64 lower-case hex digits) or a record line of the trail, found \"seq:5,ABC\"",
            "seq:-1           | --anchor: expected seq:N or seq:N,SHA256",
            "no-such-file     | --anchor: expected seq:N, seq:N,SHA256 or a FILE holding either or a record line, found no file at no-such-file",
    })
    void verify_badAnchor_isExit2(String anchor, String message) {
        PosternCliIT.Run r = run("audit", "verify", trail.toString(), "--anchor", anchor);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("postern: " + message).hasLineCount(1);
    }

    @Test
    void verify_badAnchorFile_isExit2_showingItsTextSafely() throws Exception {
        Path f = Files.writeString(tmp.resolve("anchor.txt"), "\u001b]0;pwned\u0007\n");
        PosternCliIT.Run r = run("audit", "verify", trail.toString(), "--anchor", f.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("postern: --anchor: expected seq:N or seq:N,SHA256 (64 lower-case hex digits) or a record line of the trail,"
                + " found \"\\x1b]0;pwned\\x07\" (in " + f + ")\n");
        Path json = Files.writeString(tmp.resolve("anchor.json"), "{\"time\":\"x\"}\n");
        PosternCliIT.Run r2 = run("audit", "verify", trail.toString(), "--anchor", json.toString());
        assertThat(r2.code()).isEqualTo(2);
        assertThat(r2.err()).contains("expected a record line of the trail starting {\"seq\":N, found \"{\"time\":\"x\"}\"");
    }

    private static String pem(KeyPairGenerator g, String curve) throws Exception {
        if (curve != null) {
            g.initialize(new ECGenParameterSpec(curve));
        }
        return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(g.generateKeyPair().getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }

}
