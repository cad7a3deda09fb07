package org.postern.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code postern demo}, run in-process with {@code --exit} and as its own process serving until SIGTERM. */
class DemoCommandIT {

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = PosternDemo.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void demo_exit_runsEveryStepAndSucceeds() {
        assertThat(DemoAdminHost.SSHD).as("/usr/sbin/sshd is needed for the demo's ssh step (Debian package openssh-server)").exists();
        long t0 = System.nanoTime();
        Run r = run("demo", "--exit");
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("[1] Create the device CA")
                .contains("✓ gateway listening on https://127.0.0.1:")
                .contains("posture denied by the gateway (policy demo-strict)")
                .contains("✓ denied under enforce, each reason with what to do about it")
                .contains("✓ no tunnel without an accepted posture")
                .containsPattern("posture (accepted|NOT compliant, allowed \\(report-only\\)); lease until \\S+ \\(policy demo\\)")
                .contains(": " + DemoAdminHost.PAGE.strip())
                .contains("✓ the page arrives through both paths")
                .contains("✓ ssh ran the command through the tunnel (exit 0)")
                .containsPattern("\\n +hello from \\S+ as \\S+ over ssh\\n")
                .contains("✓ laptop-0042 has a session with an open tunnel")
                .containsPattern("the tunnel through SOCKS5: closed \\d+ ms after the revocation")
                .contains("✓ session.end with reason revoked in the audit trail")
                .contains("certificate_revoked")
                .contains("OCSP says revoked").contains("evidence.bad_signature")
                .contains("✓ both trails verify")
                .containsPattern("GET https://127\\.0\\.0\\.1:\\d+/console/access\\?device=laptop-0042 as demo-auditor-console \\(auditor\\): 200, [1-9]\\d* flow")
                .contains("✓ the console's access report shows who reached the admin host")
                .contains("charter.not_accepted")
                .contains("✓ before acceptance the tunnel is refused: charter.not_accepted, and the agent names the command to run")
                .contains("Accepted version 1 of the remote-work charter")
                .contains("✓ accepted (charter.accepted in the trail, with user, device, version and the text's hash); the tunnel is admitted")
                .containsPattern("events: .*charter\\.accepted")
                .contains("All 18 steps behaved as shown.")
                .doesNotContain("Stop with Ctrl-C");
        assertThat(took).as("the demo's run time").isLessThan(Duration.ofSeconds(90));
        // issue 11: the printed ssh config names the bastion the demo runs (a free port), not the default 2222
        String bastion = bastionPort(r.out());
        assertThat(r.out()).contains("\n      Host postern\n        HostName 127.0.0.1\n        Port " + bastion + "\n")
                .contains("✓ the bastion block names the gateway's SSH bastion, 127.0.0.1:" + bastion + " (ssh.bastion of agent.yaml)");
        String dir = r.out().replaceFirst("(?s)^Postern demo — data directory (\\S+) .*", "$1");
        assertThat(Path.of(dir)).as("temporary directory removed").doesNotExist();
    }

    /**
     * Without --exit: the demo serves until stopped; the commands it prints work (curl through the
     * agent's SOCKS5 and through the gateway as an HTTPS proxy, postern gateway sessions), and
     * SIGTERM (as Ctrl-C) removes its temporary directory.
     */
    @Test
    void demo_serving_printedCommandsWork_thenSigtermCleansUp() throws Exception {
        Path log = tmp.resolve("demo.out");
        Process demo = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
                "org.postern.demo.PosternDemo", "demo").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).until(() -> {
                assertThat(demo.isAlive()).as("demo exited: " + Files.readString(log)).isTrue();
                return Files.readString(log).contains("Stop with Ctrl-C.");
            });
            String out = Files.readString(log);
            assertThat(out).contains("All 19 steps behaved as shown.").contains("laptop-0043 is in; its SOCKS5 reaches the admin host");
            // the console line names a PKCS#12 a browser imports, and its passphrase file
            String consoleLine = out.lines().filter(l -> l.startsWith("The console: https://127.0.0.1:")).findFirst().orElseThrow();
            Path p12 = Path.of(consoleLine.replaceFirst(".* — import (\\S+) \\(passphrase in .*", "$1"));
            assertThat(p12).isRegularFile();
            assertThat(Files.size(p12)).isPositive();
            String dir = out.replaceFirst("(?s)^Postern demo — data directory (\\S+) .*", "$1");
            for (String line : out.lines().filter(l -> l.startsWith("  curl ")).toList()) {
                List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/curl", "-sS", "--fail", "--max-time", "20"));
                cmd.addAll(List.of(line.replaceFirst("#.*", "").strip().substring("curl ".length()).split(" +")));
                org.postern.pki.testing.Proc.Result curl = org.postern.pki.testing.Proc.run(tmp, Duration.ofSeconds(30), cmd.toArray(String[]::new));
                assertThat(curl.exit()).as(line + "\n" + curl.all()).isZero();
                assertThat(curl.stdout()).as(line).isEqualTo(DemoAdminHost.PAGE);
            }
            assertThat(out.lines().filter(l -> l.startsWith("  curl "))).hasSize(3);
            String config = out.lines().filter(l -> l.startsWith("  ./postern gateway sessions --config ")).findFirst().orElseThrow()
                    .substring("  ./postern gateway sessions --config ".length());
            Run sessions = run("gateway", "sessions", "--config", config);
            assertThat(sessions.code()).as(sessions.err()).isZero();
            assertThat(sessions.out()).contains("laptop-0043").doesNotContain("laptop-0042");
            // the auditor's command, as printed (issue 11, item 13: the key is found as DATA/audit.pub)
            String trail = out.lines().filter(l -> l.startsWith("  ./postern audit verify ")).findFirst().orElseThrow()
                    .substring("  ./postern audit verify ".length());
            Run verify = run("audit", "verify", trail);
            assertThat(verify.code()).as(verify.out() + verify.err()).isZero();
            assertThat(verify.out()).contains("OK: ").contains("key: " + Path.of(dir).toAbsolutePath().resolve("audit.pub"));
            // the ssh config the printed ssh command uses names the running bastion
            String sshConfig = out.lines().filter(l -> l.startsWith("  ssh -F ")).findFirst().orElseThrow().split(" +")[3];
            assertThat(Files.readString(Path.of(sshConfig))).contains("\nHost postern\n  HostName 127.0.0.1\n  Port " + bastionPort(out) + "\n");
            demo.destroy(); // SIGTERM: the shutdown hook stops everything and removes the directory
            assertThat(demo.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(Path.of(dir)).as("temporary directory removed").doesNotExist();
        } finally {
            if (demo.isAlive()) {
                demo.destroyForcibly();
            }
        }
    }

    /** The SSH bastion's port, from the line the gateway's step shows. */
    private static String bastionPort(String out) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("ssh bastion 127\\.0\\.0\\.1:(\\d+)\n").matcher(out);
        assertThat(m.find()).as("the gateway step shows the bastion's address").isTrue();
        return m.group(1);
    }

    @Test
    void help_listsDemoFirst_andItsOwnHelpIsUnchanged() {
        Run top = run("--help");
        assertThat(top.out()).containsPattern("Commands:\\n\\s+demo\\s+Run Postern on loopback")
                .contains("5   the demo saw a step not behave as shown");
        Run demo = run("demo", "--help");
        assertThat(demo.out()).startsWith("Usage: postern demo [-hV] [--exit] [--keep]")
                .contains("Exit 0: every step behaved as shown. 5: a step did not.");
    }
}
