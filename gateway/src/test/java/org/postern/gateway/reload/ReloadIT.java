package org.postern.gateway.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.gateway.admin.AdminFixture;
import org.postern.gateway.policy.AccessPolicyVersion;
import org.postern.pki.PkiService;
import org.postern.keys.KeyFiles;
import org.postern.pki.testing.Proc;
import org.postern.tls.TlsContexts;

/**
 * Reload with the real triggers: the file watcher, SIGHUP and {@code POST /v1/reload}. A policy
 * edit takes effect for the next CONNECT; a broken file keeps the last good policy and says why;
 * new TLS files serve new connections; restart-only keys are reported and kept.
 */
class ReloadIT {
    AdminFixture f;

    @BeforeEach
    void create() {
        f = new AdminFixture();
    }

    @AfterEach
    void stop() {
        f.close();
    }

    @Test
    void editedAccessRules_applyToTheNextConnect() throws Exception {
        f.start("rules: []", false);
        AdminFixture.Device laptop = f.device("laptop-1");
        assertThat(f.compliant(laptop).get("compliant").asBoolean()).isTrue();
        Proc.Result denied = f.curlThrough(laptop);
        assertThat(denied.stderr()).as(denied.all()).containsIgnoringCase("Postern-Reason: access.forbidden_address"); // loopback: no rule names it

        Files.writeString(f.config, f.yaml(f.ruleToAdminHost()));

        await().atMost(Duration.ofSeconds(10)).until(() -> !f.audit("admin.reload").isEmpty());
        JsonNode reload = f.audit("admin.reload").getFirst();
        assertThat(reload.get("result").asText()).isEqualTo("ok");
        assertThat(reload.get("by").asText()).isEqualTo("file-watch");
        assertThat(reload.get("changed").toString()).isEqualTo("[\"access\"]");
        // issue 15: the reload names the access policy now in force: the new rules' digest, generation 2
        String accessVersion = AccessPolicyVersion.of(f.gateway.liveSettings().current().settings().access(), 2);
        assertThat(reload.path("accessPolicy").asText()).isEqualTo(accessVersion);
        Proc.Result through = f.curlThrough(laptop);
        assertThat(through.exit()).as(through.all()).isZero();
        assertThat(through.stdout()).isEqualTo("hello from the admin host\n");
        // the tunnel's session.start and flow.open name that version and the decision of the laptop's lease
        JsonNode decision = f.audit("posture.decision").getLast();
        assertThat(decision.get("result").asText()).isEqualTo("compliant");
        await().atMost(Duration.ofSeconds(10)).until(() -> !f.audit("flow.open").isEmpty());
        for (JsonNode e : List.of(f.audit("session.start").getLast(), f.audit("flow.open").getLast())) {
            assertThat(e.path("posture").asText()).as(e.toString()).isEqualTo("compliant");
            assertThat(e.path("posturePolicy").asText()).as(e.toString()).isEqualTo(decision.get("policyVersion").asText());
            assertThat(e.path("accessPolicy").asText()).as(e.toString()).isEqualTo(accessVersion);
        }
        // the tunnel's bytes show in the metrics, both ways
        assertThat(f.gateway.metrics().scrape())
                .containsPattern("postern_relay_bytes_total\\{direction=\"up\"} [1-9]")
                .containsPattern("postern_relay_bytes_total\\{direction=\"down\"} [1-9]");
    }

    @Test
    void brokenFile_keepsTheLastGoodPolicy_andNamesEveryProblem() throws Exception {
        f.start(f.ruleToAdminHost(), false);
        AdminFixture.Device laptop = f.device("laptop-2");
        f.compliant(laptop);
        assertThat(f.curlThrough(laptop).exit()).isZero();

        Files.writeString(f.config, f.yaml("""
                rules:
                  - name: typo
                    groups: [admins]
                    to: ["10.0.0.0/33:22"]
                """).replace("audit:", "limits:\n  idleTimeot: 5m\naudit:"));

        await().atMost(Duration.ofSeconds(10)).until(() -> !f.audit("admin.reload").isEmpty());
        JsonNode reload = f.audit("admin.reload").getFirst();
        assertThat(reload.get("result").asText()).isEqualTo("failed");
        assertThat(reload.get("problems").toString())
                .contains("access.rules[0].to[0]: expected HOST:PORT, CIDR:PORT or HOST:LOW-HIGH")
                .contains("limits.idleTimeot: unknown key");
        // the old rule still lets the laptop through
        Proc.Result through = f.curlThrough(laptop);
        assertThat(through.exit()).as(through.all()).isZero();

        // the admin API says the same to a security-admin who asks for a reload
        AdminFixture.Files2 sam = f.admin("sam", "security-admin");
        Proc.Result api = f.curlAdmin(sam, "POST", "/v1/reload");
        assertThat(AdminFixture.status(api)).as(api.all()).isEqualTo(422);
        JsonNode answer = AdminFixture.json(api);
        assertThat(answer.get("reason").asText()).isEqualTo("config.invalid");
        assertThat(answer.get("problems").toString()).contains("limits.idleTimeot: unknown key");
        assertThat(f.gateway.metrics().scrape()).contains("postern_config_reloads_total{result=\"failed\"} 2.0");
    }

    @Test
    void sighup_reloads_andRestartOnlyKeysAreReportedAndKept() throws Exception {
        f.start("rules: []", true);
        // limits change only at restart: reported, and the running value stays
        Files.writeString(f.config, f.yaml("rules: []").replace("audit:", "limits:\n  idleTimeout: 30s\naudit:"));
        await().atMost(Duration.ofSeconds(10)).until(() -> !f.audit("admin.reload").isEmpty());
        assertThat(f.audit("admin.reload").getFirst().get("needsRestart").toString()).isEqualTo("[\"limits\"]");
        assertThat(f.gateway.liveSettings().current().settings().limits().idleTimeout()).isEqualTo(Duration.ofMinutes(5));

        Proc.run(f.work, "kill", "-HUP", Long.toString(ProcessHandle.current().pid())).ok();
        await().atMost(Duration.ofSeconds(10)).until(() -> f.audit("admin.reload").stream()
                .anyMatch(r -> r.get("by").asText().equals("signal:SIGHUP")));
        JsonNode hup = f.audit("admin.reload").stream().filter(r -> r.get("by").asText().equals("signal:SIGHUP"))
                .findFirst().orElseThrow();
        assertThat(hup.get("result").asText()).isEqualTo("ok");
    }

    @Test
    void newTlsFiles_serveNewConnections_aForeignKeyIsRefused() throws Exception {
        f.start("rules: []", false);
        BigInteger before = servedSerial();
        PkiService.Issued next = f.pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
        PkiService.Issued.Files files = next.writeTo(f.work.resolve("tls"), "gw", f.pki.ca.chain());
        Files.writeString(f.config, f.yaml("rules: []").replace("audit:",
                "tls:\n  certificate: " + files.certificate() + "\n  key: " + files.key() + "\naudit:"));
        await().atMost(Duration.ofSeconds(10)).until(() -> !f.audit("admin.reload").isEmpty());
        assertThat(f.audit("admin.reload").getFirst().get("result").asText()).isEqualTo("ok");
        assertThat(servedSerial()).isEqualTo(next.certificate().getSerialNumber()).isNotEqualTo(before);

        // a key that is not the certificate's: refused, the current certificate stays
        PkiService.Issued other = f.pki.service.issueServer(List.of("localhost"), List.of(), "test");
        Path wrongKey = Files.write(f.work.resolve("tls/other.key"), KeyFiles.plainPem(other.keys().getPrivate()));
        Files.writeString(f.config, f.yaml("rules: []").replace("audit:",
                "tls:\n  certificate: " + files.certificate() + "\n  key: " + wrongKey + "\naudit:"));
        await().atMost(Duration.ofSeconds(10)).until(() -> f.audit("admin.reload").size() == 2);
        assertThat(f.audit("admin.reload").get(1).get("problems").toString())
                .contains("tls.key: expected the private key of");
        assertThat(servedSerial()).isEqualTo(next.certificate().getSerialNumber());
    }

    /** The serial of the certificate a fresh connection to the tunnel listener is served. */
    private BigInteger servedSerial() throws Exception {
        SSLContext ctx = TlsContexts.client().trust(List.of(f.pki.ca.root())).jdk();
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", f.tunnelPort)) {
            s.setSoTimeout(5000);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }
}
