package org.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.cli.PosternCliIT.concat;
import static org.postern.cli.PosternCliIT.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.cli.PosternCliIT.Run;

/**
 * Issue 15: {@code pki issue-admin --p12 FILE} writes the admin certificate, its key and the CA
 * chain as a PKCS#12 file that the tools browsers use read: OpenSSL with the passphrase (PBES2,
 * AES-256, HMAC-SHA256; the key is the certificate's) and NSS's {@code pk12util} (what Chromium
 * and Firefox import through), which also imports it into an NSS database. A wrong passphrase
 * fails; every bad input is a one-line refusal with the documented exit code, before anything is
 * issued, and the passphrase is never printed.
 */
class PkiAdminP12IT {
    private static final String PASSPHRASE = "blue kettle 42 sings";

    @TempDir
    Path tmp;
    Path data;
    String[] unlock;
    Path p12Pass;

    @BeforeEach
    void setUp() throws Exception {
        for (String tool : List.of("/usr/bin/openssl", "/usr/bin/pk12util", "/usr/bin/certutil")) {
            assertThat(Path.of(tool)).as("this test drives %s: install openssl and libnss3-tools", tool).exists();
        }
        data = tmp.resolve("data");
        Path pass = Files.writeString(tmp.resolve("pass.txt"), "correct horse battery staple\n");
        unlock = new String[] {"--dir", data.toString(), "--passphrase-file", pass.toString()};
        ok(run(concat(new String[] {"pki", "init"}, unlock)));
        p12Pass = secretFile("p12pass.txt", PASSPHRASE + "\n");
    }

    private Path secretFile(String name, String content) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    private static Run ok(Run r) {
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        return r;
    }

    private static Run fails(int code, Run r) {
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(code);
        assertThat(r.err()).as("one line, no stack trace").hasLineCount(1).doesNotContain("\tat ");
        return r;
    }

    private Run issue(String name, String... more) {
        return run(concat(concat(new String[] {"pki", "issue-admin", "--name", name, "--role", "auditor"}, more), unlock));
    }

    private record Tool(int exit, String out) {
    }

    private Tool tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).directory(tmp.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
        return new Tool(p.exitValue(), out);
    }

    private Tool must(String... cmd) throws Exception {
        Tool t = tool(cmd);
        assertThat(t.exit()).as(String.join(" ", cmd) + "\n" + t.out()).isZero();
        return t;
    }

    @Test
    void p12_readByOpensslAndPk12util_keyMatchesTheCertificate_wrongPassphraseFails() throws Exception {
        Path p12 = tmp.resolve("ana.p12");
        Run r = ok(issue("ana", "--p12", p12.toString(), "--p12-passphrase-file", p12Pass.toString()));
        assertThat(r.out()).contains("  p12:     " + p12 + " (0600, PKCS#12: AES-256, HMAC-SHA256; passphrase from " + p12Pass + ")")
                .doesNotContain(PASSPHRASE);
        assertThat(r.err()).doesNotContain(PASSPHRASE);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p12))).isEqualTo("rw-------");

        // OpenSSL: PBES2 with AES-256 for the key and the certificates, an HMAC-SHA256 MAC
        String info = must("openssl", "pkcs12", "-info", "-noout", "-in", p12.toString(), "-passin", "file:" + p12Pass).out();
        assertThat(info).contains("MAC: sha256").contains("PBES2, PBKDF2, AES-256-CBC")
                .contains("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC").doesNotContain("3DES").doesNotContain("RC2");
        // the leaf is the certificate written beside it, the key is that certificate's, the chain is the CA's
        String leaf = must("openssl", "pkcs12", "-in", p12.toString(), "-passin", "file:" + p12Pass, "-clcerts", "-nokeys").out();
        Files.writeString(tmp.resolve("leaf.pem"), leaf);
        Files.writeString(tmp.resolve("key.pem"), must("openssl", "pkcs12", "-in", p12.toString(), "-passin",
                "file:" + p12Pass, "-nocerts", "-nodes").out());
        String certKey = must("openssl", "x509", "-in", "leaf.pem", "-noout", "-pubkey").out();
        String keyKey = must("openssl", "pkey", "-in", "key.pem", "-pubout").out();
        assertThat(keyKey).startsWith("-----BEGIN PUBLIC KEY-----").isEqualTo(certKey);
        String crtFingerprint = must("openssl", "x509", "-in", data.resolve("admin/ana.crt").toString(), "-noout",
                "-fingerprint", "-sha256").out();
        assertThat(must("openssl", "x509", "-in", "leaf.pem", "-noout", "-fingerprint", "-sha256").out()).isEqualTo(crtFingerprint);
        String cas = must("openssl", "pkcs12", "-in", p12.toString(), "-passin", "file:" + p12Pass, "-cacerts", "-nokeys").out();
        assertThat(cas.split("-----BEGIN CERTIFICATE-----", -1)).as("issuing CA and root").hasSize(3);
        Files.writeString(tmp.resolve("cas.pem"), cas);
        must("openssl", "verify", "-CAfile", "cas.pem", "leaf.pem");

        // a wrong passphrase does not open it
        Path wrong = secretFile("wrong.txt", "not the passphrase at all\n");
        Tool bad = tool("openssl", "pkcs12", "-info", "-noout", "-in", p12.toString(), "-passin", "file:" + wrong);
        assertThat(bad.exit()).as(bad.out()).isNotZero();
        assertThat(bad.out()).containsIgnoringCase("mac verify");

        // NSS, as browsers import it: pk12util lists the key and the chain, and imports them
        String listed = must("pk12util", "-l", p12.toString(), "-w", p12Pass.toString()).out();
        assertThat(listed).contains("Certificate(has private key):").contains("Subject: \"CN=ana")
                .contains("Key(shrouded):").contains("Cipher: AES-256-CBC");
        Tool nssWrong = tool("pk12util", "-l", p12.toString(), "-w", wrong.toString());
        assertThat(nssWrong.exit()).isNotZero();
        assertThat(nssWrong.out()).contains("SEC_ERROR_BAD_PASSWORD");
        Path db = Files.createDirectory(tmp.resolve("nssdb"));
        must("certutil", "-N", "-d", "sql:" + db, "--empty-password");
        assertThat(must("pk12util", "-i", p12.toString(), "-d", "sql:" + db, "-w", p12Pass.toString(), "-K", "").out())
                .contains("PKCS12 IMPORT SUCCESSFUL");
        assertThat(must("certutil", "-L", "-d", "sql:" + db).out()).containsPattern("ana \\(postern auditor\\) +u,u,u")
                .contains("CN=Postern Issuing CA,O=Postern").contains("CN=Postern Root CA,O=Postern");
        assertThat(must("certutil", "-K", "-d", "sql:" + db).out()).contains("ana (postern auditor)");
    }

    @Test
    void passphraseFromTheEnvironment_inItsOwnProcess() throws Exception {
        Path p12 = tmp.resolve("env.p12");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), PosternCommand.class.getName(),
                "pki", "issue-admin", "--name", "envy", "--role", "security-admin", "--p12", p12.toString()));
        cmd.addAll(List.of(unlock));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("POSTERN_P12_PASSPHRASE", PASSPHRASE);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("passphrase from $POSTERN_P12_PASSPHRASE)").doesNotContain(PASSPHRASE);
        Path pw = secretFile("envpass.txt", PASSPHRASE + "\n");
        assertThat(must("openssl", "pkcs12", "-in", p12.toString(), "-passin", "file:" + pw, "-clcerts", "-nokeys").out())
                .contains("friendlyName: envy (postern security-admin)").contains("OU = security-admin, CN = envy");

        // and without it: refused before anything is issued
        pb.environment().remove("POSTERN_P12_PASSPHRASE");
        cmd.set(cmd.indexOf(p12.toString()), tmp.resolve("none.p12").toString());
        cmd.set(cmd.indexOf("envy"), "envy2");
        Process q = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String err = new String(q.getInputStream().readAllBytes());
        assertThat(q.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(q.exitValue()).as(err).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("postern: PKCS#12 passphrase: expected the environment variable"
                + " POSTERN_P12_PASSPHRASE to hold the secret, found it unset (or pass --p12-passphrase-file FILE);"
                + " --p12 needs a passphrase");
        assertThat(tmp.resolve("none.p12")).doesNotExist();
        assertThat(data.resolve("admin/envy2.crt")).doesNotExist();
    }

    @Test
    void badInputs_areOneLineRefusals_withTheDocumentedExitCodes_andNothingIsIssued() throws Exception {
        Path p12 = tmp.resolve("x.p12");
        String[] withFile = {"--p12", p12.toString(), "--p12-passphrase-file"};

        // too short (the length is said, never the passphrase)
        Path shortPass = secretFile("short.txt", "eleven-char\n");
        assertThat(fails(2, issue("x", concat(withFile, new String[] {shortPass.toString()}))).err())
                .isEqualTo("postern: PKCS#12 passphrase from --p12-passphrase-file " + shortPass
                        + ": expected at least 12 characters, found 11\n")
                .doesNotContain("eleven-char");
        // empty
        Path empty = secretFile("empty.txt", "\n");
        assertThat(fails(2, issue("x", concat(withFile, new String[] {empty.toString()}))).err())
                .isEqualTo("postern: PKCS#12 passphrase: expected a secret on the first line of " + empty
                        + ", found an empty line\n");
        // missing file
        Path missing = tmp.resolve("missing.txt");
        assertThat(fails(2, issue("x", concat(withFile, new String[] {missing.toString()}))).err())
                .isEqualTo("postern: PKCS#12 passphrase: expected a secret file at " + missing + ", found none\n");
        // readable by others
        Path open = secretFile("open.txt", PASSPHRASE + "\n");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(fails(2, issue("x", concat(withFile, new String[] {open.toString()}))).err())
                .isEqualTo("postern: --p12-passphrase-file " + open + ": expected a file only its owner can read"
                        + " (mode 600: chmod 600 " + open + "), found mode rw-r--r--\n");
        // a passphrase file without --p12
        assertThat(fails(2, issue("x", "--p12-passphrase-file", p12Pass.toString())).err())
                .isEqualTo("postern: --p12-passphrase-file: expected it with --p12 FILE, found it alone\n");
        // no such directory
        Path nowhere = tmp.resolve("no/such/dir/x.p12");
        assertThat(fails(2, issue("x", "--p12", nowhere.toString(), "--p12-passphrase-file", p12Pass.toString())).err())
                .isEqualTo("postern: --p12 " + nowhere + ": expected a file in an existing directory, found no directory "
                        + nowhere.getParent() + "\n");
        assertThat(data.resolve("admin/x.crt")).as("nothing issued").doesNotExist();

        // an existing file is never overwritten
        byte[] before = "an older bundle".getBytes();
        Files.write(p12, before);
        assertThat(fails(1, issue("x", concat(withFile, new String[] {p12Pass.toString()}))).err())
                .isEqualTo("postern: " + p12 + " already exists; refusing to overwrite it (move it away, or name another"
                        + " --p12 FILE)\n");
        assertThat(Files.readAllBytes(p12)).isEqualTo(before);
        assertThat(data.resolve("admin/x.crt")).as("nothing issued").doesNotExist();
        assertThat(pkiTrail()).contains("\"type\":\"pki.init\"").doesNotContain("\"kind\":\"admin\"");
    }

    @Test
    void help_namesTheOptions_thePassphraseSources_andTheExitCodes() {
        Run help = ok(run("pki", "issue-admin", "--help"));
        assertThat(help.out()).contains("--p12=FILE").contains("--p12-passphrase-file=FILE")
                .contains("$POSTERN_P12_PASSPHRASE").contains("at least 12 characters").contains("PKCS#12")
                .contains("Exit 1:").contains("Exit 2:");
    }

    private String pkiTrail() throws java.io.IOException {
        StringBuilder b = new StringBuilder();
        try (var files = Files.list(data.resolve("audit/pki"))) {
            for (var f : files.filter(f -> f.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                b.append(Files.readString(f));
            }
        }
        return b.toString();
    }
}
