package org.postern.cli;

import java.io.PrintWriter;
import java.util.List;

import org.postern.audit.AuditUnavailableException;
import org.postern.cli.audit.AuditCommand;
import org.postern.cli.pki.PkiCommand;
import org.postern.config.ConfigException;
import org.postern.pki.PkiException;
import org.postern.pki.registry.RegistryException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code postern} command: PKI administration, the gateway and the audit trail. The demo lives in
 * module {@code demo} (it runs the laptop agent too), which adds its subcommand through
 * {@link #commandLine(List)}.
 */
@Command(name = "postern",
        mixinStandardHelpOptions = true,
        version = "postern 0.1.0",
        description = "Posture-gated access gateway for a secure administration network.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:success",
                "1:refused: the operation was not allowed (the message says why)",
                "2:bad usage or configuration",
                "3:the CA is missing or could not be unlocked (wrong passphrase or PIN)",
                "4:the registry or audit log cannot be read or written",
                "5:the demo saw a step not behave as shown",
                "6:the running gateway's admin endpoint cannot be reached (postern gateway sessions|kill)",
                "7:a listener cannot bind its address (in use, not this host's, not permitted; the message names it)",
                "8:postern selfcheck found a critical problem (1 when the worst is a warning)"})
public final class PosternCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(commandLine(), args));
    }

    /**
     * Runs {@code cl} and flushes what it printed: picocli's writers flush on {@code println} only,
     * and {@code System.exit} flushes none, so a command ending in {@code print} would lose its output.
     */
    public static int execute(CommandLine cl, String... args) {
        cl.setOut(cl.getOut()); // one writer each, shared by every subcommand, so flushing them here reaches all
        cl.setErr(cl.getErr());
        try {
            return cl.execute(args);
        } finally {
            cl.getOut().flush();
            cl.getErr().flush();
        }
    }

    /** The configured command line: errors become one-line messages with the documented exit codes. */
    public static CommandLine commandLine() {
        return commandLine(List.of());
    }

    /** The configured command line with {@code first} (command objects or classes) listed before the built-in subcommands. */
    public static CommandLine commandLine(List<Object> first) {
        CommandLine cl = new CommandLine(new PosternCommand());
        first.forEach(cl::addSubcommand);
        for (Class<?> sub : List.of(PkiCommand.class, AuditCommand.class, org.postern.cli.gateway.GatewayCommand.class,
                org.postern.cli.selfcheck.SelfcheckCommand.class, CommandLine.HelpCommand.class)) {
            cl.addSubcommand(sub);
        }
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            int code = switch (e) {
                case Exit x -> x.code();
                case ConfigException c -> Exit.USAGE;
                case RegistryException r when r.code().equals("registry.unavailable") -> Exit.UNAVAILABLE;
                case RegistryException r -> Exit.REFUSED;
                case PkiException p -> Exit.REFUSED;
                case AuditUnavailableException a -> Exit.UNAVAILABLE;
                case IllegalArgumentException i -> Exit.USAGE;
                default -> -1;
            };
            if (code < 0) {
                err.println("postern: unexpected error: " + e);
                e.printStackTrace(err);
                return 70;
            }
            err.println("postern: " + e.getMessage());
            return code;
        });
        return cl;
    }
}
