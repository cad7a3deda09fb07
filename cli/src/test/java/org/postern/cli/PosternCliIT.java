package org.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code postern} command line, run in-process the way a user types it. */
public class PosternCliIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path data;
    Path pass;

    public record Run(int code, String out, String err) {}

    public static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = PosternCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeEach
    void setUp() throws Exception {
        data = tmp.resolve("data");
        pass = tmp.resolve("pass.txt");
        Files.writeString(pass, "correct horse battery staple\n");
    }

    private Run init() {
        return run("pki", "init", "--dir", data.toString(), "--name", "Test Org", "--passphrase-file", pass.toString());
    }

    @Test
    void init_createsPrivateDirectoryAndKeyFiles() throws Exception {
        Run r = init();
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("root SHA-256");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("ca")))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("ca/issuing.key")))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("ca/root.key")))).isEqualTo("rw-------");
        assertThat(Files.readString(data.resolve("ca/issuing.key"))).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----");
        assertThat(pkiTrail()).contains("\"pki.init\"");
    }

    @Test
    void sshCaPubkey_beforeCreation_isExit3_thenCreateAndPrintTheSameLine() throws Exception {
        assertThat(init().code()).isZero();
        // pki init makes the SSH user CA; a data directory from before it did has none
        Path made = data.resolve("ca/ssh-user-ca.pub");
        assertThat(Files.readString(made)).startsWith("ecdsa-sha2-nistp256 AAAA");
        Files.delete(made);
        Files.delete(data.resolve("ca/ssh-user-ca.key"));
        Run none = run("pki", "ssh-ca-pubkey", "--dir", data.toString());
        assertThat(none.code()).isEqualTo(3);
        assertThat(none.err()).contains("no SSH user CA in").contains("--create");
        Path wrong = Files.writeString(tmp.resolve("wrong.txt"), "not the passphrase at all\n");
        Run bad = run("pki", "ssh-ca-pubkey", "--create", "--dir", data.toString(), "--passphrase-file", wrong.toString());
        assertThat(bad.code()).isEqualTo(3);
        assertThat(Files.exists(data.resolve("ca/ssh-user-ca.key"))).isFalse();
        Run created = run("pki", "ssh-ca-pubkey", "--create", "--dir", data.toString(), "--passphrase-file", pass.toString());
        assertThat(created.code()).as(created.err()).isZero();
        assertThat(created.out()).startsWith("ecdsa-sha2-nistp256 AAAA").endsWith(" postern-ssh-user-ca\n");
        Run again = run("pki", "ssh-ca-pubkey", "--dir", data.toString());
        assertThat(again.code()).isZero();
        assertThat(again.out()).isEqualTo(created.out());
        // ssh-keygen reads it as a public key
        Path pub = Files.writeString(tmp.resolve("ca.pub"), again.out());
        Process p = new ProcessBuilder("ssh-keygen", "-l", "-f", pub.toString()).redirectErrorStream(true).start();
        String fp = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(fp).isZero();
        assertThat(fp).startsWith("256 SHA256:").contains("(ECDSA)");
    }

    @Test
    void init_twice_refusesToOverwrite() {
        assertThat(init().code()).isZero();
        Run again = init();
        assertThat(again.code()).isEqualTo(Exit.REFUSED);
        assertThat(again.err()).contains("a CA already exists").contains("refusing to overwrite");
    }

    @Test
    void init_withoutPassphrase_saysWhereItLooked() {
        Run r = run("pki", "init", "--dir", data.toString());
        // the test JVM may or may not have POSTERN_CA_PASSPHRASE; without it the message names both sources
        if (System.getenv("POSTERN_CA_PASSPHRASE") == null) {
            assertThat(r.code()).isEqualTo(Exit.USAGE);
            assertThat(r.err()).contains("POSTERN_CA_PASSPHRASE").contains("--passphrase-file");
        } else {
            assertThat(r.code()).isZero();
        }
    }

    @Test
    void revoke_withWrongPassphrase_isExit3WithoutStackTrace() throws Exception {
        assertThat(init().code()).isZero();
        assertThat(run("pki", "device", "add", "laptop-1", "--owner", "alice", "--dir", data.toString()).code()).isZero();
        Path wrong = tmp.resolve("wrong.txt");
        Files.writeString(wrong, "not the passphrase\n");
        Run r = run("pki", "device", "revoke", "laptop-1", "--reason", "lost", "--dir", data.toString(), "--passphrase-file", wrong.toString());
        assertThat(r.code()).isEqualTo(Exit.CA);
        assertThat(r.err()).contains("the CA passphrase is wrong").contains("issuing.key").doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(run("pki", "device", "show", "laptop-1", "--dir", data.toString()).out()).contains("status: pending");
    }

    @Test
    void deviceLifecycle_addJsonListShowSuspendResumeRevoke() throws Exception {
        assertThat(init().code()).isZero();
        String d = data.toString();
        Run add = run("pki", "device", "add", "laptop-7", "--owner", "bob", "--groups", "admins,dba", "--serial", "SN123",
                "--token-ttl", "2h", "--json", "--dir", d);
        assertThat(add.code()).as(add.err()).isZero();
        JsonNode j = JSON.readTree(add.out());
        assertThat(j.get("device").asText()).isEqualTo("laptop-7");
        assertThat(j.get("token").asText()).hasSizeGreaterThanOrEqualTo(22); // ≥128 bits in base64url
        assertThat(j.get("expiresAt").asText()).isNotBlank();
        assertThat(pkiTrail()).contains("pki.token.create").doesNotContain(j.get("token").asText());
        Run verify = run("audit", "verify", data.resolve("audit/pki").toString(), "--pubkey", data.resolve("audit.pub").toString(), "--strict");
        assertThat(verify.code()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("4 records"); // pki.init, its checkpoint, pki.token.create, its checkpoint

        JsonNode list = JSON.readTree(run("pki", "device", "list", "--json", "--dir", d).out());
        assertThat(list).hasSize(1);
        assertThat(list.get(0).get("groups").toString()).isEqualTo("[\"admins\",\"dba\"]");
        assertThat(list.get(0).get("status").asText()).isEqualTo("pending");

        String[] unlock = {"--dir", d, "--passphrase-file", pass.toString()};
        assertThat(run(concat(new String[] {"pki", "device", "suspend", "laptop-7"}, unlock)).code()).isZero();
        assertThat(run("pki", "device", "show", "laptop-7", "--dir", d).out()).contains("status: suspended");
        assertThat(run(concat(new String[] {"pki", "device", "resume", "laptop-7"}, unlock)).code()).isZero();
        Run bad = run(concat(new String[] {"pki", "device", "revoke", "laptop-7", "--reason", "stolen"}, unlock));
        assertThat(bad.code()).isEqualTo(Exit.USAGE);
        assertThat(bad.err()).contains("expected keyCompromise|lost|retired|superseded, found \"stolen\"");
        assertThat(run(concat(new String[] {"pki", "device", "revoke", "laptop-7", "--reason", "retired"}, unlock)).code()).isZero();
        Run twice = run(concat(new String[] {"pki", "device", "revoke", "laptop-7", "--reason", "retired"}, unlock));
        assertThat(twice.code()).isEqualTo(Exit.REFUSED);
        assertThat(run("pki", "device", "show", "laptop-7", "--json", "--dir", d).out()).contains("\"status\" : \"revoked\"");
    }

    @Test
    void deviceAdd_duplicateAndBadInput_areClearErrors() {
        assertThat(init().code()).isZero();
        String d = data.toString();
        assertThat(run("pki", "device", "add", "laptop-1", "--owner", "alice", "--dir", d).code()).isZero();
        Run dup = run("pki", "device", "add", "laptop-1", "--owner", "alice", "--dir", d);
        assertThat(dup.code()).isEqualTo(Exit.REFUSED);
        assertThat(dup.err()).contains("laptop-1");
        Run badId = run("pki", "device", "add", "laptop 1", "--owner", "alice", "--dir", d);
        assertThat(badId.code()).isEqualTo(Exit.USAGE);
        assertThat(badId.err()).contains("device id: expected").contains("found \"laptop 1\"");
        Run badTtl = run("pki", "device", "add", "laptop-2", "--owner", "alice", "--token-ttl", "soon", "--dir", d);
        assertThat(badTtl.code()).isEqualTo(Exit.USAGE);
        assertThat(badTtl.err()).contains("--token-ttl: expected a duration like 24h or 30m, found \"soon\"");
    }

    @Test
    void commands_withoutCa_sayHowToCreateOne() {
        Run r = run("pki", "device", "list", "--dir", data.toString());
        assertThat(r.code()).isEqualTo(Exit.CA);
        assertThat(r.err()).contains("no CA in").contains("postern pki init --dir");
    }

    @Test
    void badConfig_listsEveryProblem() throws Exception {
        assertThat(init().code()).isZero();
        Path cfg = tmp.resolve("pki.yaml");
        Files.writeString(cfg, "enrollment:\n  tokenTtl: ten\ncertificates:\n  deviceLifetim: 90d\n");
        Run r = run("pki", "device", "list", "--dir", data.toString(), "--config", cfg.toString());
        assertThat(r.code()).isEqualTo(Exit.USAGE);
        assertThat(r.err()).contains("enrollment.tokenTtl: expected a duration like 10m, found \"ten\"").contains("certificates.deviceLifetim");
    }

    @Test
    void issueServerAndAdmin_writeCertAndPrivateKey() throws Exception {
        assertThat(init().code()).isZero();
        String[] unlock = {"--dir", data.toString(), "--passphrase-file", pass.toString()};
        Run s = run(concat(new String[] {"pki", "issue-server", "--dns", "gw.example.org", "--ip", "127.0.0.1", "--out", tmp.toString()}, unlock));
        assertThat(s.code()).as(s.err()).isZero();
        assertThat(Files.readString(tmp.resolve("gw.example.org.crt"))).contains("BEGIN CERTIFICATE");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("gw.example.org.key")))).isEqualTo("rw-------");
        Run a = run(concat(new String[] {"pki", "issue-admin", "--name", "carol", "--role", "auditor", "--out", tmp.toString()}, unlock));
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(a.out()).contains("OU=auditor");
        Run badRole = run(concat(new String[] {"pki", "issue-admin", "--name", "carol", "--role", "root"}, unlock));
        assertThat(badRole.code()).isEqualTo(Exit.USAGE);
        assertThat(badRole.err()).contains("expected security-admin or auditor, found \"root\"");
    }

    @Test
    void help_listsExitCodes() {
        Run r = run("--help");
        assertThat(r.out()).contains("Exit codes:").contains("3   the CA is missing or could not be unlocked");
    }

    /** The PKI trail's segments (DATA/audit/pki), concatenated. */
    private String pkiTrail() throws java.io.IOException {
        StringBuilder b = new StringBuilder();
        try (var files = Files.list(data.resolve("audit/pki"))) {
            for (var f : files.filter(f -> f.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                b.append(Files.readString(f));
            }
        }
        return b.toString();
    }

    static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
