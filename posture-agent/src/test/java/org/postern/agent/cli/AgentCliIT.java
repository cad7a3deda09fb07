package org.postern.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.state.AgentHome;
import org.postern.pki.PkiService;
import org.postern.pki.testing.TestPki;
import picocli.CommandLine;

/** {@code postern-agent enroll|status} against a real PKI server on loopback, and renewal. */
class AgentCliIT {
    @TempDir
    Path tmp;
    TestPki pki;

    record Run(int code, String out, String err) {}

    @BeforeEach
    void start() {
        pki = TestPki.create();
        pki.startServer();
    }

    @AfterEach
    void stop() {
        pki.close();
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = AgentCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    private Path token(String device) throws Exception {
        PkiService.NewDevice d = pki.service.addDevice(device, "alice", List.of("admins"), null, null, "test");
        Path f = tmp.resolve(device + ".token");
        Files.writeString(f, d.token().reveal() + "\n");
        return f;
    }

    private Run enroll(Path home, Path tokenFile, String pin, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("--home", home.toString(), "enroll", "--gateway", pki.url(""),
                "--token-file", tokenFile.toString(), "--ca-sha256", pin));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    @Test
    void enroll_withTokenAndPinnedRoot_storesPrivateKeyAndCertificate() throws Exception {
        Path home = tmp.resolve("agent");
        Run r = enroll(home, token("laptop-a"), pki.ca.rootSha256().toUpperCase());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("Enrolled as laptop-a.");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve("device.key")))).isEqualTo("rw-------");
        X509Certificate cert = new AgentHome(home).certificate();
        assertThat(cert.getSubjectX500Principal().getName()).startsWith("CN=laptop-a");
        assertThat(pki.registry.device("laptop-a").orElseThrow().status().wireName()).isEqualTo("active");

        Run status = run("--home", home.toString(), "status");
        assertThat(status.code()).isZero();
        assertThat(status.out()).contains("device:       laptop-a").contains("days left")
                .contains("key:          file " + home.resolve("device.key") + " (0600)");
    }

    @Test
    void enroll_twiceWithoutForce_isRefused() throws Exception {
        Path home = tmp.resolve("agent");
        assertThat(enroll(home, token("laptop-b"), pki.ca.rootSha256()).code()).isZero();
        Run again = enroll(home, token("laptop-b2"), pki.ca.rootSha256());
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("already enrolled").contains("--force");
    }

    @Test
    void enroll_withWrongPin_failsTlsAndWritesNothing() throws Exception {
        Path home = tmp.resolve("agent");
        Run r = enroll(home, token("laptop-c"), "ab".repeat(32));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("does not contain the pinned CA").contains("ab".repeat(32));
        assertThat(Files.exists(home.resolve("device.key"))).isFalse();
        assertThat(pki.registry.device("laptop-c").orElseThrow().status().wireName()).isEqualTo("pending");
    }

    @Test
    void enroll_withUsedToken_reportsTheReasonCode() throws Exception {
        Path tokenFile = token("laptop-d");
        assertThat(enroll(tmp.resolve("one"), tokenFile, pki.ca.rootSha256()).code()).isZero();
        Run r = enroll(tmp.resolve("two"), tokenFile, pki.ca.rootSha256());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 401 est.token_used");
    }

    @Test
    void enroll_badInputs_areClearErrors() throws Exception {
        Run http = run("--home", tmp.resolve("x").toString(), "enroll", "--gateway", "http://127.0.0.1:1", "--token", "t",
                "--ca-sha256", pki.ca.rootSha256());
        assertThat(http.code()).isEqualTo(2);
        assertThat(http.err()).contains("--gateway: expected an https:// URL with a host, found \"http://127.0.0.1:1\"");
        Run pin = run("--home", tmp.resolve("y").toString(), "enroll", "--gateway", pki.url(""), "--token", "t", "--ca-sha256", "xyz");
        assertThat(pin.code()).isEqualTo(2);
        assertThat(pin.err()).contains("expected a SHA-256 fingerprint of 64 hex digits");
        Run status = run("--home", tmp.resolve("z").toString(), "status");
        assertThat(status.code()).isEqualTo(2);
        assertThat(status.err()).contains("not enrolled");
    }

    @Test
    void enroll_pkcs11OptionsWithoutPkcs11_orMissingConfig_areClearErrors() throws Exception {
        Run alias = enroll(tmp.resolve("p"), token("laptop-p"), pki.ca.rootSha256(), "--pkcs11-alias", "x");
        assertThat(alias.code()).isEqualTo(2);
        assertThat(alias.err()).contains("--pkcs11-alias: only with --pkcs11 CONFIG (the key is a file otherwise)");
        Path pinFile = tmp.resolve("pin");
        Files.writeString(pinFile, "1234\n");
        Path missing = tmp.resolve("nope.cfg");
        Run cfg = enroll(tmp.resolve("q"), token("laptop-q"), pki.ca.rootSha256(), "--pkcs11", missing.toString(), "--pin-file", pinFile.toString());
        assertThat(cfg.code()).isEqualTo(2);
        assertThat(cfg.err()).contains("--pkcs11: expected a readable SunPKCS11 configuration file, found nothing at " + missing.toAbsolutePath());
        assertThat(pki.registry.device("laptop-q").orElseThrow().status().wireName()).isEqualTo("pending");
    }

    @Test
    void renewIfDue_afterTwoThirdsOfLifetime_rekeysOverSimpleReenroll() throws Exception {
        Path home = tmp.resolve("agent");
        assertThat(enroll(home, token("laptop-e"), pki.ca.rootSha256()).code()).isZero();
        AgentHome h = new AgentHome(home);
        X509Certificate first = h.certificate();
        Enroller early = new Enroller(h, Clock.offset(Clock.system(ZoneOffset.UTC), Duration.ofDays(50)), new SecureRandom());
        assertThat(early.renewIfDue()).isEmpty();

        Enroller late = new Enroller(h, Clock.offset(Clock.system(ZoneOffset.UTC), Duration.ofDays(61)), new SecureRandom());
        X509Certificate renewed = late.renewIfDue().orElseThrow();
        assertThat(renewed.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
        assertThat(renewed.getPublicKey()).isNotEqualTo(first.getPublicKey());
        assertThat(renewed.getSubjectX500Principal()).isEqualTo(first.getSubjectX500Principal());
        assertThat(h.certificate()).isEqualTo(renewed);
        assertThat(h.keys().getPublic()).isEqualTo(renewed.getPublicKey());
        assertThat(pki.registry.certificatesOf("laptop-e")).hasSize(2);
        assertThat(pki.lastAudit("pki.renew").path("rekey").asBoolean()).isTrue();
    }
}
