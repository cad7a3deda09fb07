package org.postern.agent.cli;

import java.io.PrintWriter;
import java.nio.file.Path;

import org.postern.agent.enroll.EstClient;
import org.postern.agent.state.AgentHome;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern-agent}: enrolls the laptop, checks its posture, keeps the session with the gateway up and tunnels through it. */
@Command(name = "postern-agent",
        mixinStandardHelpOptions = true,
        version = "postern-agent " + AgentCommand.VERSION,
        description = "The Postern agent: proves this laptop's certificate, disk encryption and patch level to the gateway.",
        subcommands = {CheckCommand.class, EnrollCommand.class, CharterCommand.class, UpCommand.class, StatusCommand.class, ConnectCommand.class,
                SshConfigCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:success (check: compliant)",
                "1:refused or not compliant (the message says why); up: vpn.enabled but no CAP_NET_ADMIN for the TUN interface",
                "2:error: bad usage, no network, not enrolled, a file that cannot be read",
                "3:up stopped: the gateway refused this laptop and its certificate is revoked (enroll again)"})
public final class AgentCommand implements Runnable {
    public static final String NAME = "postern-agent";
    public static final String VERSION = "0.1.0";

    @Option(names = "--home", paramLabel = "DIR", scope = CommandLine.ScopeType.INHERIT,
            description = "Agent directory (key, certificate, state). Default: $POSTERN_AGENT_HOME or ~/.postern-agent.")
    Path home;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    AgentHome home() {
        return new AgentHome(home != null ? home : AgentHome.defaultDir(System.getenv()));
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        // Not "logback.xml": the agent's jar also sits on the postern CLI's classpath, which has its own.
        System.setProperty("logback.configurationFile", "postern-agent-logback.xml");
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new AgentCommand());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            switch (e) {
                case AgentExit x -> {
                    err.println(NAME + ": " + x.getMessage());
                    return x.code();
                }
                case EstClient.EstException x -> {
                    err.println(NAME + ": " + x.getMessage());
                    return 1;
                }
                case java.net.ConnectException x -> {
                    err.println(NAME + ": cannot reach the gateway" + (x.getMessage() != null ? ": " + x.getMessage() : " (connection refused or no route)"));
                    return 2;
                }
                case javax.net.ssl.SSLException x -> {
                    err.println(NAME + ": TLS with the gateway failed: " + x.getMessage());
                    return 2;
                }
                case java.io.IOException x -> {
                    err.println(NAME + ": " + x.getMessage());
                    return 2;
                }
                case org.postern.config.ConfigException x -> {
                    err.println(NAME + ": " + x.getMessage());
                    return 2;
                }
                case IllegalArgumentException x -> {
                    err.println(NAME + ": " + x.getMessage());
                    return 2;
                }
                default -> {
                    err.println(NAME + ": unexpected error: " + e);
                    e.printStackTrace(err);
                    return 2;
                }
            }
        });
        return cl;
    }

    /** Ends a command with a message and an exit code. */
    public static final class AgentExit extends RuntimeException {
        private final int code;

        public AgentExit(int code, String message) {
            super(message, null, false, false);
            this.code = code;
        }

        public int code() {
            return code;
        }
    }
}
