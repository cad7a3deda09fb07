package org.postern.agent.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.concurrent.Callable;

import org.postern.keys.SshPublicKeys;
import org.postern.agent.ssh.SshCertificates;
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
                "The bastion's address is ssh.bastion of agent.yaml, else the gateway's host on port 2222; its host key"
                        + " is pinned by ssh.knownHosts (UserKnownHostsFile) if set."})
final class SshConfigCommand implements Callable<Integer> {
    @ParentCommand
    AgentCommand parent;

    @Option(names = "--host", paramLabel = "PATTERN", defaultValue = "*.admin.internal",
            description = "ssh_config Host pattern of the hosts reached through Postern. Default: ${DEFAULT-VALUE}.")
    String pattern;

    @Option(names = "--command", paramLabel = "PATH", defaultValue = AgentCommand.NAME,
            description = "How ssh starts the agent (a full path if postern-agent is not on ssh's PATH). Default: ${DEFAULT-VALUE}.")
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
        out.println("    ProxyCommand " + quote(command) + home + " connect %h %p");
        out.println("    ServerAliveInterval 30");

        AgentHome agent = parent.home();
        AgentSettings settings = config != null ? AgentSettings.load(config)
                : Files.exists(agent.dir().resolve("agent.yaml")) ? AgentSettings.load(agent.dir().resolve("agent.yaml"))
                : AgentSettings.defaults();
        if (!settings.ssh().enabled()) {
            return 0;
        }
        URI gateway = settings.gateway() != null ? settings.gateway()
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
        if (settings.ssh().knownHosts() == null) {
            out.println("# pin the bastion's host key: put its line (from your administrator) in a file named by"
                    + " ssh.knownHosts; do not turn StrictHostKeyChecking off");
        }
        out.print(ssh.bastionBlock(alias, bastion.host(), bastion.port(), user, settings.ssh().knownHosts()));
        out.flush();
        return 0;
    }

    private static String quote(String s) {
        return s.matches("[A-Za-z0-9_./@:+-]+") ? s : "\"" + s.replace("\"", "\\\"") + "\"";
    }
}
