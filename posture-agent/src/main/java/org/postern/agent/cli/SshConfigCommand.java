package org.postern.agent.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;

import org.jspecify.annotations.Nullable;
import org.postern.agent.session.BastionHostKeys;
import org.postern.agent.ssh.SshCertificates;
import org.postern.keys.SecureFiles;
import org.postern.keys.SshPublicKeys;
import org.postern.agent.state.AgentHome;
import org.postern.config.HostPort;
import org.postern.config.agent.AgentSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code postern-agent ssh-config}: the {@code Host} blocks for OpenSSH — the admin hosts through
 * {@code connect} (an HTTP/2 CONNECT tunnel), and the gateway's SSH bastion with the certificate
 * {@code up} keeps, for {@code ssh -J postern HOST}.
 */
@Command(name = "ssh-config", mixinStandardHelpOptions = true,
        description = {"Print the Host blocks to paste into ~/.ssh/config (postern-agent up must be running).",
                "1. the admin hosts (--host) through postern-agent connect (ProxyCommand, an HTTP/2 CONNECT tunnel);",
                "2. the gateway's SSH bastion (--bastion-alias, default postern) with the key and the short-lived"
                        + " certificate postern-agent up keeps in the agent directory (IdentityFile, CertificateFile),"
                        + " for ssh -J postern HOST (or ProxyJump postern in place of the ProxyCommand).",
                "The bastion's address is ssh.bastion of agent.yaml, else the gateway's host on port 2222. Its host key"
                        + " is pinned (UserKnownHostsFile, StrictHostKeyChecking yes): by ssh.knownHosts if set, else by"
                        + " ssh/known_hosts in the agent directory, written from the gateway's answer over the device's"
                        + " mTLS connection (GET /v1/ssh/host-keys)."})
final class SshConfigCommand implements Callable<Integer> {
    @ParentCommand
    AgentCommand parent;

    @Option(names = "--host", paramLabel = "PATTERN", defaultValue = "*.admin.internal",
            description = "ssh_config Host pattern of the hosts reached through Postern. Default: ${DEFAULT-VALUE}.")
    String pattern;

    /** Set by the launcher ({@code ./postern-agent}) to its own absolute path. */
    static final String LAUNCHER_PROPERTY = "postern.launcher";

    @Option(names = "--command", paramLabel = "PATH",
            description = "How ssh starts the agent. Default: the absolute path of the launcher this agent was started"
                    + " with (./postern-agent), else this JVM's own command line.")
    String command;

    @Option(names = "--bastion-alias", paramLabel = "NAME", defaultValue = "postern",
            description = "The bastion's Host name in the config (ssh -J NAME). Default: ${DEFAULT-VALUE}.")
    String alias;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Agent settings (agent.yaml) for ssh.bastion and ssh.knownHosts. Default: agent.yaml in the"
                    + " agent directory if present.")
    Path config;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        String home = parent.home != null ? " --home " + quote(parent.home.toAbsolutePath().toString()) : "";
        out.println("# Postern: reach " + pattern + " through the gateway (postern-agent up must be running)");
        out.println("Host " + pattern);
        out.println("    ProxyCommand " + (command != null ? quote(command) : launcher()) + home + " connect %h %p");
        out.println("    ServerAliveInterval 30");

        AgentHome agent = parent.home();
        AgentSettings settings = config != null ? AgentSettings.load(config)
                : Files.exists(agent.dir().resolve("agent.yaml")) ? AgentSettings.load(agent.dir().resolve("agent.yaml"))
                : AgentSettings.defaults();
        if (!settings.ssh().enabled()) {
            return 0;
        }
        URI gateway = !settings.gateways().isEmpty() ? settings.gateways().getFirst()
                : agent.enrollment().map(e -> URI.create(e.gateway())).orElse(null);
        if (gateway == null && settings.ssh().bastion() == null) {
            out.println("# (no SSH bastion block: not enrolled and no ssh.bastion in agent.yaml)");
            return 0;
        }
        HostPort bastion = settings.ssh().bastionFor(gateway);
        SshCertificates ssh = new SshCertificates(agent.sshDir(), Clock.systemUTC(), new SecureRandom());
        String user = ssh.current().map(SshPublicKeys.Certificate::principals).filter(p -> !p.isEmpty())
                .map(p -> p.iterator().next()).orElse(null);
        out.println();
        out.println("# Postern SSH bastion: ssh -J " + alias + " HOST, or ProxyJump " + alias
                + " in place of the ProxyCommand above");
        if (user == null) {
            out.println("# (no SSH certificate yet: postern-agent up gets one with the posture lease; add User <your login>)");
        }
        Path knownHosts = settings.ssh().knownHosts() != null ? settings.ssh().knownHosts()
                : pinHostKeys(settings, agent, gateway, bastion, out);
        out.print(ssh.bastionBlock(alias, bastion.host(), bastion.port(), user, knownHosts));
        out.println("  StrictHostKeyChecking yes");
        out.flush();
        return 0;
    }

    /**
     * Writes the bastion's host keys, as the gateway gives them over the device's mTLS connection, to
     * {@code ssh/known_hosts} in the agent directory; returns that file, or null when there is none.
     * When the gateway cannot be asked, keys pinned by an earlier run stay in use.
     */
    private @Nullable Path pinHostKeys(AgentSettings settings, AgentHome agent, @Nullable URI gateway, HostPort bastion,
                                       PrintWriter out)
            throws IOException, InterruptedException {
        Path file = agent.sshDir().resolve("known_hosts");
        String why;
        if (gateway == null) {
            why = "not enrolled, so the gateway cannot be asked";
        } else {
            try {
                List<PublicKey> keys = BastionHostKeys.fetch(agent, gateway, settings.tls().provider(), settings.transport(), System.getenv());
                SecureFiles.privateDirectory(agent.sshDir());
                SecureFiles.replace(file, BastionHostKeys.knownHosts(bastion.host(), bastion.port(), keys)
                        .getBytes(StandardCharsets.US_ASCII), false);
                out.println("# the bastion's host key, from the gateway over this device's mTLS connection, pinned in " + file);
                return file;
            } catch (IOException e) {
                why = e.getMessage();
            }
        }
        spec.commandLine().getErr().println(AgentCommand.NAME + ": the bastion's host key was not fetched: " + why);
        if (Files.exists(file)) {
            out.println("# the bastion's host key was not fetched (" + why + "); the one pinned earlier stays in " + file);
            return file;
        }
        out.println("# the bastion's host key is not pinned yet (" + why + "): run ssh-config again once enrolled and the"
                + " gateway is reachable; do not turn StrictHostKeyChecking off");
        return null;
    }

    /** The launcher's absolute path, else this JVM's command line: what ssh runs for {@code connect}. */
    private static String launcher() {
        String launcher = System.getProperty(LAUNCHER_PROPERTY);
        if (launcher != null && Files.isExecutable(Path.of(launcher))) {
            return quote(Path.of(launcher).toAbsolutePath().toString());
        }
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return quote(java) + " -cp " + quote(System.getProperty("java.class.path")) + " " + AgentCommand.class.getName();
    }

    private static String quote(String s) {
        return s.matches("[A-Za-z0-9_./@:+-]+") ? s : "\"" + s.replace("\"", "\\\"") + "\"";
    }
}
