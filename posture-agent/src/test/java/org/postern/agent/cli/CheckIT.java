package org.postern.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.pki.testing.TestPki;

/**
 * {@code postern-agent check} for real on this machine: enrolled against a real PKI server, the
 * Linux collector reading this machine, judged once by a policy it passes and once by one it
 * fails for a known reason.
 */
class CheckIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    TestPki pki;
    Path home;

    @BeforeEach
    void enroll() throws Exception {
        pki = TestPki.create();
        pki.startServer();
        var d = pki.service.addDevice("laptop-check", "alice", List.of("admins"), null, null, "test");
        home = tmp.resolve("agent");
        AgentCliIT.Run r = AgentCliIT.run("--home", home.toString(), "enroll", "--gateway", pki.url(""), "--token", d.token().reveal(),
                "--ca-sha256", pki.ca.rootSha256());
        assertThat(r.code()).as(r.err()).isZero();
    }

    @AfterEach
    void stop() {
        pki.close();
    }

    private Path policy(String name, String yaml) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, yaml);
        return f;
    }

    /**
     * What this build machine (a Debian VM, root on an unencrypted virtual disk, apt security
     * updates pending, first seen by this agent now) can pass: encryption not required, any
     * recent kernel and release.
     */
    private static final String LENIENT = """
            version: ci-lenient
            requireDiskEncryption: false
            maxDaysSinceUpdate: 365
            maxSecurityPendingDays: 365
            minOs:
              linux:
                kernel: "3.0"
                distributions: {debian: "10", ubuntu: "20.04", fedora: "36"}
            """;

    @Test
    void check_withPolicyThisMachinePasses_exits0AndSaysCompliant() throws Exception {
        AgentCliIT.Run r = AgentCliIT.run("--home", home.toString(), "check", "--policy", policy("lenient.yaml", LENIENT).toString(), "--json");
        JsonNode v = JSON.readTree(r.out());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(v.path("compliant").asBoolean()).isTrue();
        assertThat(v.path("policyVersion").asText()).isEqualTo("ci-lenient");
        assertThat(v.path("leaseUntil").asText()).isNotBlank();
        assertThat(v.path("checks").findValuesAsText("check")).contains("disk", "os", "patch.lastUpdate", "patch.securityPending", "agent", "cert");
        // the agent remembers when it first saw each pending apt security update
        assertThat(home.resolve("apt-pending.json")).exists();
    }

    @Test
    void check_withKernelMinimumAboveThisMachine_exits1WithOsTooOld() throws Exception {
        String strict = LENIENT.replace("version: ci-lenient", "version: ci-strict").replace("kernel: \"3.0\"", "kernel: \"999.0\"");
        AgentCliIT.Run r = AgentCliIT.run("--home", home.toString(), "check", "--policy", policy("strict.yaml", strict).toString());
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains("✘ Operating system").contains("[os.too_old]").contains("NOT compliant with policy ci-strict");
        assertThat(r.out()).contains("✔ Device certificate");
    }

    @Test
    void check_withoutPolicy_exits2NamingWhereItLooked() {
        // enrolled at a PKI server (pki serve), which publishes no posture policy: the gateway does (AgentUpIT)
        AgentCliIT.Run r = AgentCliIT.run("--home", home.toString(), "check");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("no posture policy: expected --policy FILE, " + home.resolve("policy.yaml")
                + ", or the gateway's, which could not be read: GET " + pki.url("") .replaceFirst("/+$", "") + "/v1/posture/policy: expected 200");
    }

    @Test
    void check_withBrokenPolicy_exits2ListingTheProblems() throws Exception {
        AgentCliIT.Run r = AgentCliIT.run("--home", home.toString(), "check", "--policy",
                policy("broken.yaml", "maxDaysSinceUpdate: soon\nrequireDiskEncrypton: true\n").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("maxDaysSinceUpdate: expected an integer").contains("requireDiskEncrypton: unknown key")
                .doesNotContain("unexpected error").doesNotContain("\tat ");
    }
}
