package org.postern.demo;

import java.util.List;

import org.postern.cli.PosternCommand;
import picocli.CommandLine;

/**
 * {@code postern} with the {@code demo} subcommand: the launcher runs this for {@code postern demo}
 * and for the top-level help, so the demo is listed where it always was. The server command line
 * ({@link PosternCommand}, module {@code cli}) does not carry the laptop agent the demo runs.
 */
public final class PosternDemo {
    private PosternDemo() {
    }

    public static void main(String[] args) {
        System.exit(PosternCommand.execute(commandLine(), args));
    }

    /** {@link PosternCommand#commandLine()} with {@code demo} listed first. */
    public static CommandLine commandLine() {
        return PosternCommand.commandLine(List.of(new DemoCommand()));
    }
}
