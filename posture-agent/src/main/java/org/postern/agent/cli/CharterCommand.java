package org.postern.agent.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

import org.postern.agent.enroll.CharterClient;
import org.postern.agent.state.AgentHome;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern-agent charter}: read the remote-work charter the gateway requires, and accept it. */
@Command(name = "charter", mixinStandardHelpOptions = true,
        description = {"Show the remote-work charter the gateway requires and whether this laptop accepted its version;"
                + " then ask to accept it (type yes), or accept with --accept.",
                "While the current version is not accepted, the gateway refuses every session (charter.not_accepted).",
                "The acceptance is sent with this laptop's key and recorded by the gateway (user, device, version, text hash,"
                        + " and how: prompt when you typed yes, flag with --accept)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:accepted (now or before), or the gateway requires no charter",
                "1:not accepted (declined, or no terminal to ask on and no --accept)",
                "2:error: not enrolled, the gateway unreachable or refusing"})
final class CharterCommand implements Callable<Integer> {
    @ParentCommand
    AgentCommand parent;

    @Option(names = "--accept", description = {"Accept the version shown without asking (the text is still printed).",
            "Recorded as how=flag: whoever ran the command accepted for the laptop's owner, no one typed yes."})
    boolean accept;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        AgentHome home = parent.home();
        if (!home.enrolled()) {
            throw new AgentCommand.AgentExit(2, "not enrolled in " + home.dir() + ": run postern-agent enroll first");
        }
        Outcome o = review(new CharterClient(home, System.getenv()), spec.commandLine().getOut(), accept, home);
        return o == Outcome.DECLINED ? 1 : 0;
    }

    /** What became of the charter. */
    enum Outcome { NONE_REQUIRED, ALREADY_ACCEPTED, ACCEPTED, DECLINED }

    /**
     * Shows the charter and accepts it: with {@code accept}, at once; else by asking on the terminal
     * (typing {@code yes}); without a terminal it is declined, saying how to accept.
     */
    static Outcome review(CharterClient client, PrintWriter out, boolean accept, AgentHome home)
            throws IOException, InterruptedException {
        Optional<CharterClient.Charter> fetched = client.fetch();
        if (fetched.isEmpty()) {
            out.println("The gateway requires no remote-work charter.");
            return Outcome.NONE_REQUIRED;
        }
        CharterClient.Charter c = fetched.get();
        String h = home.dir().equals(AgentHome.defaultDir(System.getenv())) ? "" : " --home " + home.dir();
        out.println("Remote-work charter, version " + c.version() + " (sha256 " + c.sha256() + "):");
        out.println();
        c.text().strip().lines().forEach(l -> out.println("  " + l));
        out.println();
        if (c.acceptedNow()) {
            out.println("This laptop accepted version " + c.accepted().version() + " on " + c.accepted().acceptedAt() + ".");
            out.flush();
            return Outcome.ALREADY_ACCEPTED;
        }
        if (c.accepted() != null) {
            out.println("This laptop accepted version " + c.accepted().version() + " on " + c.accepted().acceptedAt()
                    + (c.accepted().version() == c.version() ? " with another text; the gateway now requires this text of version "
                            : "; the gateway now requires version ") + c.version() + ".");
        }
        boolean yes = accept;
        if (!yes) {
            java.io.Console console = System.console();
            if (console != null && console.isTerminal()) {
                out.print("Type yes to accept version " + c.version() + " of the remote-work charter: ");
                out.flush();
                String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                yes = line != null && line.strip().toLowerCase(Locale.ROOT).equals("yes");
            }
        }
        if (!yes) {
            out.println("NOT accepted: the gateway refuses every session of this laptop (charter.not_accepted) until version "
                    + c.version() + " is accepted.");
            out.println("To accept it: postern-agent" + h + " charter   (and type yes), or: postern-agent" + h + " charter --accept");
            out.flush();
            return Outcome.DECLINED;
        }
        CharterClient.Acceptance a = client.accept(c, accept ? CharterClient.How.FLAG : CharterClient.How.PROMPT);
        out.println("Accepted version " + a.version() + " of the remote-work charter at " + a.acceptedAt()
                + " (recorded by the gateway with your user and this laptop).");
        out.flush();
        return Outcome.ACCEPTED;
    }
}
