package org.postern.cli.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.cli.Exit;
import org.postern.cli.PosternCliIT;
import org.postern.cli.PosternCliIT.Run;

/** {@code postern selfcheck --config} on a data directory made by {@code postern pki init}, as IT security runs it. */
class SelfcheckCliIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path data;
    Path config;

    @BeforeEach
    void init() throws Exception {
        data = tmp.resolve("data");
        Path pass = Files.writeString(tmp.resolve("pass.txt"), "correct horse battery staple\n");
        Run init = PosternCliIT.run("pki", "init", "--dir", data.toString(), "--passphrase-file", pass.toString());
        assertThat(init.code()).as(init.err()).isZero();
        config = tmp.resolve("gateway.yaml");
    }

    private static List<JsonNode> findings(JsonNode report, String severity) {
        List<JsonNode> out = new ArrayList<>();
        report.get("findings").forEach(f -> {
            if (f.get("severity").asText().equals(severity)) {
                out.add(f);
            }
        });
        return out;
    }

    @Test
    void cleanDeployment_onlyExpectedWarnings_exit1() throws Exception {
        Files.writeString(config, "gateway:\n  id: gw-test\ndataDir: data\n");
        Run json = PosternCliIT.run("selfcheck", "--config", config.toString(), "--json");
        JsonNode report = JSON.readTree(json.out());
        assertThat(findings(report, "critical")).as(json.out()).isEmpty();
        // what a fresh pki init leaves to decide: CA keys under a passphrase rather than in an HSM, no SIEM yet;
        // the clock's state depends on the host (a warning where nothing tells, an info where NTP is on)
        List<String> warnings = findings(report, "warning").stream().map(f -> f.get("check").asText()).toList();
        // and no remote-work charter configured
        assertThat(warnings).contains("ca-keys", "audit-trail", "charter")
                .allMatch(c -> List.of("ca-keys", "audit-trail", "charter", "clock").contains(c));
        assertThat(json.code()).isEqualTo(1);
        assertThat(report.get("worst").asText()).isEqualTo("warning");
        assertThat(report.get("exitCode").asInt()).isEqualTo(1);
        assertThat(report.get("gateway").asText()).isEqualTo("gw-test");
        List<String> infos = findings(report, "info").stream().map(f -> f.get("message").asText()).toList();
        assertThat(infos).contains("listeners.admin 127.0.0.1:9443 is on loopback", "posture.mode: enforce",
                "no access rules: no device reaches anything (deny by default)");
        assertThat(infos).anyMatch(m -> m.startsWith("the CRL " + data.resolve("ca/crl.der") + " is fresh until"));
        assertThat(infos).anyMatch(m -> m.startsWith("the audit trail " + data.resolve("audit/pki") + " verifies: "));
        assertThat(infos).anyMatch(m -> m.startsWith("dataDir " + data + " and its ") && m.endsWith("are owner-only"));
        assertThat(infos).anyMatch(m -> m.startsWith("3 certificates not close to their end"));

        Run human = PosternCliIT.run("selfcheck", "--config", config.toString());
        assertThat(human.code()).isEqualTo(1);
        String[] lines = human.out().split("\n");
        assertThat(lines[0]).isEqualTo("postern selfcheck of gateway gw-test (" + config + ")");
        assertThat(lines[1]).startsWith("WARNING  "); // the worst first
        assertThat(human.out()).contains("WARNING  ca-keys       CA keys encrypted with a passphrase in " + data.resolve("ca"))
                .contains(" -- fix: prefer a PKCS#11 token or HSM (postern pki init --pkcs11 CONFIG)")
                .contains("INFO     policy        audit.failMode: closed");
        assertThat(lines[lines.length - 1]).matches("0 critical, \\d+ warning, \\d+ info; exit 1");
    }

    @Test
    void riskyDeployment_everyFindingSeen_exit8() throws Exception {
        Files.writeString(config, """
                gateway:
                  id: gw-risky
                dataDir: data
                listeners:
                  tunnel: 0.0.0.0:8443
                  admin: 0.0.0.0:9443
                  unsafeAdminOnNetwork: true
                tls:
                  allowTls12: true
                posture:
                  mode: report-only
                audit:
                  failMode: open
                access:
                  rules:
                    - name: everything
                      groups: [admins]
                      to: ["0.0.0.0/0:443", "169.254.169.254:80"]
                """);
        Files.setPosixFilePermissions(data.resolve("audit.key"), PosixFilePermissions.fromString("rw-r--r--"));
        Run json = PosternCliIT.run("selfcheck", "--config", config.toString(), "--json");
        assertThat(json.code()).as(json.out() + json.err()).isEqualTo(Exit.CRITICAL).isEqualTo(8);
        JsonNode report = JSON.readTree(json.out());
        assertThat(report.get("worst").asText()).isEqualTo("critical");
        List<String> critical = findings(report, "critical").stream()
                .map(f -> f.get("check").asText() + ": " + f.get("message").asText()).toList();
        assertThat(critical).anyMatch(m -> m.startsWith("listeners: listeners.admin is 0.0.0.0:9443 (every address)"))
                .anyMatch(m -> m.startsWith("policy: audit.failMode: open"))
                .anyMatch(m -> m.startsWith("access-rules: access rule everything (groups admins) to 0.0.0.0/0:443 opens every IPv4"))
                .anyMatch(m -> m.startsWith("access-rules: access rule everything (groups admins) to 169.254.169.254:80 opens"))
                .anyMatch(m -> m.equals("permissions: " + data.resolve("audit.key") + " has mode rw-r--r--: expected owner-only"
                        + " (rw-------), found group or others may read it"))
                .hasSize(5);
        List<String> warnings = findings(report, "warning").stream().map(f -> f.get("message").asText()).toList();
        assertThat(warnings).anyMatch(m -> m.startsWith("posture.mode: report-only"))
                .anyMatch(m -> m.startsWith("tls.allowTls12: true"));
        findings(report, "critical").forEach(f -> assertThat(f.get("fix").asText()).isNotBlank());

        Run human = PosternCliIT.run("selfcheck", "--config", config.toString());
        assertThat(human.code()).isEqualTo(8);
        String[] lines = human.out().split("\n");
        for (int i = 1; i <= 5; i++) {
            assertThat(lines[i]).startsWith("CRITICAL ").contains(" -- fix: ");
        }
        assertThat(lines[lines.length - 1]).matches("5 critical, \\d+ warning, \\d+ info; exit 8");
    }

    @Test
    void registryPasswordFileReadableByOthers_isExit2_asForGatewayRun() throws Exception {
        Path password = Files.writeString(tmp.resolve("registry.pass"), "s3cret\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-r--r--"));
        Files.writeString(config, "dataDir: data\nregistry:\n  url: postgresql://127.0.0.1:5432/postern\n  user: postern\n"
                + "  passwordFile: " + password + "\n");
        Run r = PosternCliIT.run("selfcheck", "--config", config.toString());
        assertThat(r.code()).isEqualTo(Exit.USAGE);
        assertThat(r.err()).contains("expected a file only its owner can read (mode 0600 or 0400), found mode rw-r--r--")
                .contains("chmod 600 " + password);
    }

    @Test
    void missingConfig_isExit2_namingTheFile() {
        Run r = PosternCliIT.run("selfcheck", "--config", tmp.resolve("none.yaml").toString());
        assertThat(r.code()).isEqualTo(Exit.USAGE);
        assertThat(r.err()).contains(tmp.resolve("none.yaml") + ": expected a configuration file, found none");
    }

    @Test
    void help_documentsTheExitCodes() {
        Run r = PosternCliIT.run("selfcheck", "--help");
        assertThat(r.code()).isZero();
        String flat = r.out().replaceAll("\\s+", " "); // picocli pads and wraps as it likes
        assertThat(flat).contains("0 no finding above info").contains("1 the worst finding is a warning")
                .contains("8 at least one critical finding").contains("docs/selfcheck.md");
    }
}
