package org.postern.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code up}, {@code ssh-config} and {@code connect}: what they say before any network is involved. */
class UpCommandsTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = AgentCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    @Test
    void sshConfig_withoutLauncher_printsThisJvmsCommandLineNotABareName() {
        Run r = run("--home", tmp.resolve("agent").toString(), "ssh-config");
        assertThat(r.code()).isZero();
        String java = ProcessHandle.current().info().command().orElseThrow();
        assertThat(r.out()).startsWith("# Postern: reach *.admin.internal through the gateway (postern-agent up must be running)\n"
                + "Host *.admin.internal\n    ProxyCommand ")
                .contains(java).contains(" -cp ").contains(" org.postern.agent.cli.AgentCommand --home " + tmp.resolve("agent") + " connect %h %p\n")
                .endsWith("    ServerAliveInterval 30\n# (no SSH bastion block: not enrolled and no ssh.bastion in agent.yaml)\n")
                .doesNotContain("ProxyCommand postern-agent ");
    }

    /** Issue 11 item 17: a user who ran ./postern-agent has no postern-agent on PATH; the launcher's absolute path is printed. */
    @Test
    void sshConfig_startedByTheLauncher_printsItsAbsolutePath() throws Exception {
        Path launcher = Files.writeString(tmp.resolve("postern-agent"), "#!/bin/sh\n");
        launcher.toFile().setExecutable(true);
        String before = System.getProperty(SshConfigCommand.LAUNCHER_PROPERTY);
        System.setProperty(SshConfigCommand.LAUNCHER_PROPERTY, launcher.toString());
        try {
            Run r = run("--home", tmp.resolve("agent").toString(), "ssh-config");
            assertThat(r.out()).contains("    ProxyCommand " + launcher + " --home " + tmp.resolve("agent") + " connect %h %p\n");
        } finally {
            if (before == null) {
                System.clearProperty(SshConfigCommand.LAUNCHER_PROPERTY);
            } else {
                System.setProperty(SshConfigCommand.LAUNCHER_PROPERTY, before);
            }
        }
    }

    @Test
    void sshConfig_bastionButNotEnrolled_saysTheHostKeyIsNotPinnedAndKeepsStrictChecking() throws Exception {
        Path yaml = Files.writeString(tmp.resolve("agent.yaml"), "ssh: {bastion: 'gw.example.org:2222'}\n");
        Run r = run("--home", tmp.resolve("agent").toString(), "ssh-config", "--config", yaml.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEqualTo("postern-agent: the bastion's host key was not fetched: not enrolled, so the gateway cannot be asked\n");
        assertThat(r.out()).contains("# the bastion's host key is not pinned yet (not enrolled, so the gateway cannot be asked)")
                .doesNotContain("UserKnownHostsFile").endsWith("  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n");
    }

    @Test
    void sshConfig_bastionFromAgentYaml_printsItsBlockWithTheIdentityAndPinnedHostKey(@org.junit.jupiter.api.io.TempDir
            java.nio.file.Path dir) throws Exception {
        java.nio.file.Path yaml = java.nio.file.Files.writeString(dir.resolve("agent.yaml"),
                "ssh: {bastion: 'gw.example.org:2222', knownHosts: kh}\n");
        Run r = run("--home", dir.resolve("agent").toString(), "ssh-config", "--config", yaml.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("# Postern SSH bastion: ssh -J postern HOST, or ProxyJump postern in place of the ProxyCommand above\n"
                + "# (no SSH certificate yet: postern-agent up gets one with the posture lease; add User <your login>)\n"
                + "Host postern\n  HostName gw.example.org\n  Port 2222\n"
                + "  IdentityFile " + dir.resolve("agent/ssh/id_ecdsa") + "\n"
                + "  CertificateFile " + dir.resolve("agent/ssh/id_ecdsa-cert.pub") + "\n"
                + "  IdentitiesOnly yes\n  UserKnownHostsFile " + dir.resolve("kh") + "\n  StrictHostKeyChecking yes\n");
        assertThat(run("--home", dir.resolve("agent").toString(), "ssh-config", "--config",
                java.nio.file.Files.writeString(dir.resolve("off.yaml"), "ssh: {enabled: false}\n").toString()).out())
                .doesNotContain("Host postern");
    }

    @Test
    void sshConfig_carriesHomeAndCommand() {
        Run r = run("--home", "/home/alice/my agent", "ssh-config", "--host", "10.20.*", "--command", "/opt/postern/bin/postern-agent");
        assertThat(r.out()).contains("Host 10.20.*\n")
                .contains("    ProxyCommand /opt/postern/bin/postern-agent --home \"/home/alice/my agent\" connect %h %p\n");
    }

    @Test
    void up_notEnrolled_saysHowToEnroll() {
        Run r = run("--home", tmp.resolve("empty").toString(), "up");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("postern-agent: not enrolled (no certificate in " + tmp.resolve("empty")
                + "); run: postern-agent enroll --gateway URL --token T --ca-sha256 FP");
    }

    @Test
    void up_badAgentYaml_listsEveryProblem() throws Exception {
        Path config = Files.writeString(tmp.resolve("agent.yaml"), "socks: {listen: 0.0.0.0:1080}\nposture: {retryInterval: soon}\n");
        Run r = run("--home", tmp.resolve("empty").toString(), "up", "--config", config.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(config + ": socks.listen: expected a loopback address like 127.0.0.1:1080")
                .contains(config + ": posture.retryInterval: expected a duration like 10m, found \"soon\"");
    }

    @Test
    void connect_badDestination_isAnError() {
        Run r = run("--home", tmp.toString(), "connect", "db1.admin.internal", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("destination: expected a port between 1 and 65535, found 0");
    }

    @Test
    void help_namesTheNewCommands() {
        Run r = run("--help");
        assertThat(r.out()).contains("  up ").contains("  connect ").contains("  ssh-config ");
        assertThat(run("up", "--help").out()).contains("--config=FILE").contains("SOCKS5").contains("Exit 0: stopped.");
    }
}
