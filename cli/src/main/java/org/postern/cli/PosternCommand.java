package org.postern.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code postern} command: PKI administration, the gateway, the audit trail, and the demo. */
@Command(name = "postern",
        mixinStandardHelpOptions = true,
        version = "postern 0.1.0",
        description = "Posture-gated access gateway for a secure administration network.",
        subcommands = {CommandLine.HelpCommand.class})
public final class PosternCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new PosternCommand()).execute(args));
    }
}
