package org.postern.packaging;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.postern.agent.cli.AgentCommand;
import org.postern.cli.PosternCommand;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.codegen.docgen.manpage.ManPageGenerator;

/**
 * Writes the man pages (AsciiDoc, one per command and subcommand, for asciidoctor's manpage
 * backend) and the bash completion scripts of {@code postern} and {@code postern-agent} from their
 * picocli command models, so the shipped documentation cannot drift from the code. The models are
 * the ones the programs run ({@link PosternCommand#commandLine()}, which adds the subcommands
 * programmatically, so picocli-codegen's class-name mode would miss them).
 *
 * <p>Usage: {@code DocGen OUT}; writes {@code OUT/postern/adoc/*.adoc}, {@code OUT/postern/postern.bash}
 * and the same for {@code postern-agent}.
 */
public final class DocGen {
    private DocGen() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: DocGen OUTPUT_DIR (expected one argument, found " + args.length + ")");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        write(out.resolve("postern"), "postern", PosternCommand.commandLine());
        write(out.resolve("postern-agent"), AgentCommand.NAME, AgentCommand.commandLine());
    }

    static void write(Path dir, String name, CommandLine cl) throws IOException {
        Path adoc = Files.createDirectories(dir.resolve("adoc"));
        // one page for the command and one for each subcommand below it: the generator walks the tree itself
        int rc = ManPageGenerator.generateManPage(adoc.toFile(), null, new boolean[0], true, cl.getCommandSpec());
        if (rc != 0) {
            throw new IOException("man pages of " + name + ": picocli's ManPageGenerator exited " + rc + ", expected 0");
        }
        String bash = AutoComplete.bash(name, cl);
        Files.writeString(dir.resolve(name + ".bash"), bash, StandardCharsets.UTF_8);
    }
}
