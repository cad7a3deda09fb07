package org.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Issue 11 item 15: the same check as the agent's UsageHelpTest for {@code postern}: no {@code [picocli WARN]}
 * and summaries in the command lists were
 * cut at ":" or "," (the list shows only the first element of a {@code description} array, and some
 * sentences ran over several elements). Every command's usage help, rendered without a warning;
 * every command's summary one whole sentence, shown in full in its parent's list.
 */
class UsageHelpTest {

    @Test
    void everyCommand_usageHelp_noPicocliWarning_andWholeSummaries() {
        List<String> problems = new ArrayList<>();
        check(PosternCommand.commandLine(), problems);
        assertThat(problems).isEmpty();
    }

    static void check(CommandLine cl, List<String> problems) {
        String name = cl.getCommandSpec().qualifiedName();
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        String usage;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            usage = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
        } finally {
            System.setErr(err);
        }
        String warnings = captured.toString(StandardCharsets.UTF_8);
        if (warnings.contains("picocli WARN")) {
            problems.add(name + ": " + warnings.strip());
        }
        String flat = usage.replaceAll("\\s+", ""); // picocli wraps lines where it likes, even inside ~/.ssh
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (sub.getCommandName().equals("help")) {
                continue; // picocli's own
            }
            String summary = summary(sub).replaceAll("\\s+", " ").strip();
            if (!summary.endsWith(".")) {
                problems.add(sub.getCommandSpec().qualifiedName() + ": summary is not a whole sentence: \"" + summary + "\"");
            } else if (!flat.contains(summary.replace("%%", "%").replaceAll("\\s+", ""))) {
                problems.add(name + ": the list does not show the whole summary of " + sub.getCommandName() + ": \"" + summary + "\"");
            }
            check(sub, problems);
        }
    }

    /** What picocli shows for a command in its parent's list: the header's first line, else the description's. */
    static String summary(CommandLine cl) {
        String[] header = cl.getCommandSpec().usageMessage().header();
        String[] description = cl.getCommandSpec().usageMessage().description();
        return header.length > 0 ? header[0] : description.length > 0 ? description[0] : "";
    }
}
