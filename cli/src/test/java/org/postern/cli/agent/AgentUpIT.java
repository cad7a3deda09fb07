package org.postern.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.agent.cli.AgentCommand;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.config.posture.VersionNumber;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.PkiService;
import org.postern.pki.ca.KeyProtection;
import org.postern.cli.TestSshd;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPki;
import picocli.CommandLine;

/**
 * The laptop's whole path against the REAL gateway on loopback: {@code postern-agent enroll} over
 * EST, {@code postern-agent up} as its own process (real collectors, so this container's
 * Linux is denied under an enforcing policy asking for Debian 99, reasons printed, SOCKS5 refused), then the
 * gateway restarted in report-only mode: the agent reconnects, gets its lease, and curl
 * ({@code --socks5-hostname}), a port forward and OpenSSH ({@code ProxyCommand postern-agent
 * connect %h %p} to an sshd started here) all reach loopback services through HTTP/2 CONNECT
 * streams of the one connection.
 */
public class AgentUpIT {
    TestPki pki;
    Path work;
    HttpServer web;
    GatewayServer gateway;
    int gatewayPort;
    int sshPort;
    int bastionPort;
    Process sshd;
    Process up;
    Path upOut;
    Path home;

    @BeforeEach
    void start() throws Exception {
        for (String tool : List.of("/usr/bin/curl", "/usr/bin/ssh", "/usr/sbin/sshd", "/usr/bin/ssh-keygen")) {
            assertThat(Path.of(tool)).as(tool + " is needed (Debian packages curl, openssh-client, openssh-server)").exists();
        }
        pki = TestPki.create();
        work = pki.workDir("agent-up");
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", x -> {
            byte[] body = "hello from the admin host\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        web.start();
        gatewayPort = freePort();
        sshPort = freePort();
        bastionPort = freePort();
        home = work.resolve("agent");
    }

    @AfterEach
    void stop() throws Exception {
        for (Process p : new Process[] {up, sshd}) {
            if (p != null && p.isAlive()) {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
        if (gateway != null) {
            gateway.close();
        }
        if (web != null) {
            web.stop(0);
        }
        if (pki != null) {
            pki.close();
        }
    }

    void startGateway(PosturePolicy.Mode mode) throws Exception {
        GatewaySettings d = GatewaySettings.defaults();
        int webPort = web.getAddress().getPort();
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("admins-to-loopback", List.of("admins"),
                List.of(Destination.parse("127.0.0.1/32:" + webPort), Destination.parse("127.0.0.1/32:" + sshPort)))));
        PosturePolicy p = PosturePolicy.defaults();
        // Debian 99 at least: denied on any machine, whatever its disk and updates (CI's included)
        PosturePolicy.MinOs minOs = new PosturePolicy.MinOs(null, null, new PosturePolicy.Linux(
                PosturePolicy.Linux.DEFAULT_KERNEL, java.util.Map.of("debian", VersionNumber.parse("99"))));
        PosturePolicy policy = new PosturePolicy("e2e-" + mode.spelling(), mode, p.lease(), p.requireDiskEncryption(),
                minOs, p.maxDaysSinceUpdate(), p.maxSecurityPendingDays(), p.denyRebootRequired(), p.minAgentVersion(),
                p.minCertValidityDays(), p.evidenceSkew(), p.unsafeAllowUnknownPendingAge());
        GatewaySettings settings = new GatewaySettings("gw-e2e", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", gatewayPort), new HostPort("127.0.0.1", freePort()), false,
                        new HostPort("127.0.0.1", bastionPort)),
                d.tls(), policy, rules, d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));
    }

    @Test
    void enroll_up_deniedThenReportOnly_socksForwardAndSsh() throws Exception {
        startGateway(PosturePolicy.Mode.ENFORCE);
        String web = "http://127.0.0.1:" + this.web.getAddress().getPort() + "/";

        // enroll over EST with the one-time token and the pinned root
        PkiService.NewDevice added = pki.service.addDevice("laptop-e2e", "alice", List.of("admins"), null, null, "test");
        Path token = Files.writeString(work.resolve("token"), added.token().reveal() + "\n");
        Run enrolled = agent("--home", home.toString(), "enroll", "--gateway", "https://127.0.0.1:" + gatewayPort,
                "--token-file", token.toString(), "--ca-sha256", pki.ca.rootSha256());
        assertThat(enrolled.code()).as(enrolled.err()).isZero();

        // up, as the user runs it: denied under the enforcing policy, reasons and remediations printed
        int socks = freePort();
        int forward = freePort();
        Path config = Files.writeString(work.resolve("agent.yaml"), """
                socks:
                  listen: 127.0.0.1:%d
                forwards:
                  - listen: 127.0.0.1:%d
                    to: 127.0.0.1:%d
                posture:
                  retryInterval: 2s
                reconnect:
                  minBackoff: 200ms
                  maxBackoff: 1s
                ssh:
                  bastion: 127.0.0.1:%d
                """.formatted(socks, forward, this.web.getAddress().getPort(), bastionPort));
        upOut = work.resolve("up.out");
        // the JVM itself, not through a shell, so that stopping it stops the agent
        // with native access, as the launcher runs it: the agent loads BoringSSL (netty-tcnative)
        up = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                "-Dlogback.configurationFile=postern-agent-logback.xml", "org.postern.agent.cli.AgentCommand",
                "--home", home.toString(), "up", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(upOut.toFile()).start();
        awaitOutput("posture denied by the gateway (policy e2e-enforce): ", Duration.ofSeconds(120));
        assertThat(upOut()).contains("SOCKS5 listening on 127.0.0.1:" + socks)
                .contains("forward to 127.0.0.1:" + this.web.getAddress().getPort() + " listening on 127.0.0.1:" + forward)
                .containsPattern("connected to 127\\.0\\.0\\.1:" + gatewayPort + " \\(TLS 1\\.3 via BoringSSL, HTTP/2\\) as laptop-e2e")
                .containsPattern("\n\\S+ +(os|disk|patch|check)\\.[a-z_]+: .+\n\\S+ +→ .+");
        Proc.Result refused = curl("--socks5-hostname", "127.0.0.1:" + socks, web);
        assertThat(refused.exit()).as(refused.all()).isEqualTo(97); // curl: the SOCKS5 proxy refused
        Run status = agent("--home", home.toString(), "status");
        assertThat(status.out()).contains("session:      connected to https://127.0.0.1:" + gatewayPort)
                .contains("last decision: NOT compliant, mode enforce, policy e2e-enforce");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve("session.json")))).isEqualTo("rw-------");

        // the gateway comes back in report-only mode: the agent reconnects and gets its lease
        gateway.close();
        startGateway(PosturePolicy.Mode.REPORT_ONLY);
        awaitOutput("posture NOT compliant, allowed (report-only)", Duration.ofSeconds(120));
        assertThat(upOut()).contains("connection to 127.0.0.1:" + gatewayPort + " lost").contains("reconnecting in ");

        // SOCKS5 with curl, then the forward
        Proc.Result viaSocks = curl("--socks5-hostname", "127.0.0.1:" + socks, web);
        assertThat(viaSocks.exit()).as(viaSocks.all()).isZero();
        assertThat(viaSocks.stdout()).isEqualTo("hello from the admin host\n");
        Proc.Result viaForward = curl("http://127.0.0.1:" + forward + "/");
        assertThat(viaForward.exit()).as(viaForward.all()).isZero();
        assertThat(viaForward.stdout()).isEqualTo("hello from the admin host\n");
        // a destination outside the policy: the gateway's 403 is SOCKS5's "not allowed"
        Proc.Result outside = curl("--socks5-hostname", "127.0.0.1:" + socks, "http://127.0.0.1:" + freePort() + "/");
        assertThat(outside.exit()).as(outside.all()).isEqualTo(97);
        awaitOutput(" 403 ", Duration.ofSeconds(5));

        // OpenSSH through postern-agent connect, as ssh-config prints it (its bastion block once up has the SSH certificate)
        awaitOutput("SSH certificate for alice valid until ", Duration.ofSeconds(30));
        startSshd();
        Path wrapper = Files.writeString(work.resolve("postern-agent"), "#!/bin/sh\nexec " + javaShell() + " \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        Run sshConfig = agent("--home", home.toString(), "ssh-config", "--host", "127.0.0.1", "--command", wrapper.toString(),
                "--config", config.toString());
        assertThat(sshConfig.out()).contains("Host 127.0.0.1\n")
                .contains("    ProxyCommand " + wrapper + " --home " + home + " connect %h %p\n");
        // the admin host's own key is the test's; every other option comes from what ssh-config printed
        Path sshConfigFile = Files.writeString(work.resolve("ssh_config"), "Host 127.0.0.1\n"
                + "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n"
                + "    IdentityFile " + work.resolve("client_key") + "\n    IdentitiesOnly yes\n"
                + "Host *\n    BatchMode yes\n    LogLevel ERROR\n\n" + sshConfig.out());
        Proc.Result ssh = Proc.run(work, Duration.ofSeconds(60), "/usr/bin/ssh", "-F", sshConfigFile.toString(),
                "-p", String.valueOf(sshPort), "root@127.0.0.1", "echo", "hello-from-sshd");
        assertThat(ssh.exit()).as(ssh.all()).isZero();
        assertThat(ssh.stdout()).isEqualTo("hello-from-sshd\n");

        // the bastion: up got an SSH certificate with the lease; ssh -J through the bastion with it,
        // the bastion's host key pinned in the known_hosts that agent.yaml names (strict checking on)
        Path sshDir = home.resolve("ssh");
        for (String f : List.of("id_ecdsa", "id_ecdsa-cert.pub")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sshDir.resolve(f)))).as(f).isEqualTo("rw-------");
        }
        // issue 11 item 17: ssh-config pinned the bastion's host key itself, from the gateway over the
        // device's mTLS connection (GET /v1/ssh/host-keys) — no ssh-keyscan — and ssh checks it strictly
        Path knownHosts = sshDir.resolve("known_hosts");
        String pinned = Files.readString(knownHosts);
        assertThat(pinned).matches("\\[127\\.0\\.0\\.1]:" + bastionPort + " ecdsa-sha2-nistp256 AAAA\\S+\n");
        assertThat(sshConfig.out()).contains("# the bastion's host key, from the gateway over this device's mTLS connection, pinned in "
                + knownHosts + "\n");
        assertThat(sshConfig.out()).contains("Host postern\n  HostName 127.0.0.1\n  Port " + bastionPort + "\n  User alice\n"
                + "  IdentityFile " + sshDir.resolve("id_ecdsa") + "\n  CertificateFile " + sshDir.resolve("id_ecdsa-cert.pub")
                + "\n  IdentitiesOnly yes\n  UserKnownHostsFile " + knownHosts + "\n  StrictHostKeyChecking yes\n");
        Proc.Result jump = Proc.run(work, Duration.ofSeconds(60), "/usr/bin/ssh", "-F", sshConfigFile.toString(),
                "-J", "postern", "-p", String.valueOf(sshPort), "root@127.0.0.1", "echo", "hello-via-bastion");
        assertThat(jump.exit()).as(jump.all()).isZero();
        assertThat(jump.stdout()).isEqualTo("hello-via-bastion\n");

        // the endpoint with curl: the device's certificate gets the same key; no certificate, 401; not GET, 405
        String hostKeys = "https://127.0.0.1:" + gatewayPort + "/v1/ssh/host-keys";
        String cacert = home.resolve("ca.pem").toString();
        Proc.Result asDevice = curl("--cacert", cacert, "--cert", home.resolve("device.crt").toString(),
                "--key", home.resolve("device.key").toString(), hostKeys);
        assertThat(asDevice.exit()).as(asDevice.all()).isZero();
        assertThat("[127.0.0.1]:" + bastionPort + " " + asDevice.stdout()).isEqualTo(pinned);
        Proc.Result anonymous = curl("--cacert", cacert, "-w", "%{http_code}", hostKeys);
        assertThat(anonymous.stdout()).endsWith("401").contains("present the device's client certificate");
        Proc.Result post = curl("--cacert", cacert, "--cert", home.resolve("device.crt").toString(),
                "--key", home.resolve("device.key").toString(), "-X", "POST", "-w", "%{http_code}", hostKeys);
        assertThat(post.stdout()).endsWith("405");

        // a wrong pinned key (another ECDSA key for the same address): ssh refuses the bastion
        Proc.run(work, Duration.ofSeconds(30), "/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f",
                work.resolve("other_host_key").toString()).ok();
        String other = Files.readString(work.resolve("other_host_key.pub")).strip().replaceFirst(" \\S+$", "");
        Files.writeString(knownHosts, "[127.0.0.1]:" + bastionPort + " " + other + "\n");
        Proc.Result refusedJump = Proc.run(work, Duration.ofSeconds(60), "/usr/bin/ssh", "-F", sshConfigFile.toString(),
                "-J", "postern", "-p", String.valueOf(sshPort), "root@127.0.0.1", "echo", "hello-via-bastion");
        assertThat(refusedJump.exit()).as(refusedJump.all()).isNotZero();
        assertThat(refusedJump.stdout()).doesNotContain("hello-via-bastion");
        assertThat(refusedJump.stderr()).contains("Host key verification failed");
        // ssh-config pins the gateway's key again
        assertThat(agent("--home", home.toString(), "ssh-config", "--host", "127.0.0.1", "--command", wrapper.toString(),
                "--config", config.toString()).code()).isZero();
        assertThat(Files.readString(knownHosts)).isEqualTo(pinned);

        Run after = agent("--home", home.toString(), "status");
        assertThat(after.out()).contains("last decision: NOT compliant, mode report-only, policy e2e-report-only")
                .containsPattern("ssh cert: +alice, valid until \\S+ \\(\\d+ s left\\), " + java.util.regex.Pattern.quote(
                        home.resolve("ssh/id_ecdsa-cert.pub").toString()))
                .contains("os.")
                .contains("lease until:");
    }

    /**
     * Issue 16: {@code check} without a policy file judges with the policy the gateway publishes
     * ({@code GET /v1/posture/policy}, the device's certificate), and {@code enroll} says what to do next.
     */
    @Test
    void check_withoutAPolicyFile_usesThePolicyTheGatewayPublishes() throws Exception {
        startGateway(PosturePolicy.Mode.ENFORCE);
        PkiService.NewDevice added = pki.service.addDevice("laptop-check", "alice", List.of("admins"), null, null, "test");
        Path token = Files.writeString(work.resolve("token-check"), added.token().reveal() + "\n");
        Run enrolled = agent("--home", home.toString(), "enroll", "--gateway", "https://127.0.0.1:" + gatewayPort,
                "--token-file", token.toString(), "--ca-sha256", pki.ca.rootSha256());
        assertThat(enrolled.code()).as(enrolled.err()).isZero();
        assertThat(enrolled.out()).contains("Next:").contains("postern-agent --home " + home + " check")
                .contains("postern-agent --home " + home + " up");

        Run check = agent("--home", home.toString(), "check");
        // the gateway's policy asks for Debian 99: no machine passes it
        assertThat(check.code()).as(check.out() + check.err()).isEqualTo(1);
        assertThat(check.err()).contains("policy e2e-enforce from https://127.0.0.1:" + gatewayPort + "/v1/posture/policy");
        assertThat(check.out()).contains("NOT compliant with policy e2e-enforce");

        // the policy is for enrolled devices only: no client certificate, no policy
        Proc.Result anonymous = Proc.run(work, Duration.ofSeconds(30), "curl", "-sS", "--cacert", pki.chainFile().toString(),
                "-w", "\n%{http_code}", "https://127.0.0.1:" + gatewayPort + "/v1/posture/policy");
        assertThat(anonymous.stdout().strip()).endsWith("401");
        assertThat(anonymous.stdout()).doesNotContain("e2e-enforce");

        // a gateway that is gone: exit 2 naming both ways to give a policy
        gateway.close();
        gateway = null;
        Run offline = agent("--home", home.toString(), "check");
        assertThat(offline.code()).isEqualTo(2);
        assertThat(offline.err()).contains("no posture policy: expected --policy FILE, " + home.resolve("policy.yaml")
                + ", or the gateway's, which could not be read");
    }

    @Test
    void connect_withoutUp_failsClearly() throws Exception {
        Proc.Result r = Proc.run(work, Duration.ofSeconds(60), "/bin/sh", "-c", agentShell() + " connect db1.admin.internal 22 </dev/null");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.stderr()).contains("postern-agent up is not running (no live session in " + home.resolve("session.json")
                + "); start it with: postern-agent up");
    }

    void startSshd() throws Exception {
        Path config = TestSshd.prepare(work, "", "127.0.0.1", sshPort).config();
        Path log = work.resolve("sshd.log");
        sshd = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            assertThat(sshd.isAlive()).as("sshd exited: " + Files.readString(log)).isTrue();
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", sshPort)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    Proc.Result curl(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/curl", "-sS", "--max-time", "20"));
        cmd.addAll(List.of(args));
        return Proc.run(work, Duration.ofSeconds(30), cmd.toArray(String[]::new));
    }

    void awaitOutput(String text, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(up.isAlive()).as("postern-agent up exited: " + upOut()).isTrue();
            return upOut().contains(text);
        });
    }

    String upOut() throws IOException {
        return Files.readString(upOut);
    }

    /** {@code postern-agent --home HOME} on this JVM and class path, as a shell command. */
    String agentShell() {
        return javaShell() + " --home '" + home + "'";
    }

    /** {@code postern-agent} on this JVM and class path, as a shell command. */
    static String javaShell() {
        String java = ProcessHandle.current().info().command().orElse("java");
        return "'" + java + "' --enable-native-access=ALL-UNNAMED -cp '" + System.getProperty("java.class.path")
                + "' -Dlogback.configurationFile=postern-agent-logback.xml org.postern.agent.cli.AgentCommand";
    }

    public record Run(int code, String out, String err) {
    }

    public static Run agent(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = AgentCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    public static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }
}
