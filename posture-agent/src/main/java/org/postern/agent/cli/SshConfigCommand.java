package org.postern.agent.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern-agent ssh-config}: the {@code Host} block that sends OpenSSH through {@code connect}. */
@Command(name = "ssh-config", mixinStandardHelpOptions = true,
        description = {"Print the Host block to paste into ~/.ssh/config, so ssh to the admin hosts goes through"
                + " postern-agent connect (postern-agent up must be running)."})
final class SshConfigCommand implements Callable<Integer> {
    @ParentCommand
    AgentCommand parent;

    @Option(names = "--host", paramLabel = "PATTERN", defaultValue = "*.admin.internal",
            description = "ssh_config Host pattern of the hosts reached through Postern. Default: ${DEFAULT-VALUE}.")
    String pattern;

    @Option(names = "--command", paramLabel = "PATH", defaultValue = AgentCommand.NAME,
            description = "How ssh starts the agent (a full path if postern-agent is not on ssh's PATH). Default: ${DEFAULT-VALUE}.")
    String command;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String home = parent.home != null ? " --home " + quote(parent.home.toAbsolutePath().toString()) : "";
        out.println("# Postern: reach " + pattern + " through the gateway (postern-agent up must be running)");
        out.println("Host " + pattern);
        out.println("    ProxyCommand " + quote(command) + home + " connect %h %p");
        out.println("    ServerAliveInterval 30");
        return 0;
    }

    private static String quote(String s) {
        return s.matches("[A-Za-z0-9_./@:+-]+") ? s : "\"" + s.replace("\"", "\\\"") + "\"";
    }
}
