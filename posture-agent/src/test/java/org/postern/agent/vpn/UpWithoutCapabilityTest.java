package org.postern.agent.vpn;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.agent.cli.AgentCommand;
import org.postern.agent.state.AgentHome;
import org.postern.keys.KeyFiles;
import org.postern.keys.SecureFiles;
import org.postern.pki.testing.TestPki;

/**
 * {@code postern-agent up} with {@code vpn.enabled} in a child JVM that {@code setpriv} stripped of
 * CAP_NET_ADMIN: exit 1 with LinuxTun's message, before any connection is tried (the gateway's
 * address in agent.yaml is never dialled).
 */
class UpWithoutCapabilityTest {
    @TempDir
    Path tmp;

    @Test
    void up_vpnEnabledWithoutCapNetAdmin_exits1WithTheMessageBeforeConnecting() throws Exception {
        assertThat(Path.of("/usr/bin/setpriv")).as("setpriv (util-linux) is needed to drop CAP_NET_ADMIN").exists();
        TestPki pki = TestPki.create();
        TestPki.Enrolled e = pki.enroll("laptop-9", "alice");
        Path dir = tmp.resolve("agent");
        AgentHome home = new AgentHome(dir);
        SecureFiles.privateDirectory(dir);
        SecureFiles.createSecret(home.keyFile(), KeyFiles.plainPem(e.keys().getPrivate()));
        home.saveEnrollment(new AgentHome.Enrollment("https://127.0.0.1:9", pki.ca.rootSha256(), "laptop-9", Instant.now(),
                home.fileKey()), e.certificate(), pki.ca.chain());
        Path yaml = Files.writeString(tmp.resolve("agent.yaml"), "vpn: {enabled: true, interface: pt-nocap1}\n");

        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(List.of("/usr/bin/setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                "--bounding-set=-net_admin", java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath,
                AgentCommand.class.getName(), "--home", dir.toString(), "up", "--config", yaml.toString()))
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ended).as("up should have stopped at once; it printed: %s", out).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        assertThat(out).contains("postern-agent: creating TUN device pt-nocap1 needs CAP_NET_ADMIN (the agent: its systemd unit with the VPN drop-in")
                .doesNotContain("connect").doesNotContain("SOCKS5 listening");
    }
}
