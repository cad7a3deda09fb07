package org.postern.agent.collect.linux;

import java.time.Duration;
import java.util.List;

import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;

/** How a command that gave no usable answer is described in a {@code CheckError}. */
final class Commands {
    private Commands() {
    }

    /** {@code "apt-get not found"}, {@code "apt-get -s … timed out after 20s"}, or the runner's message. */
    static String failure(List<String> command, CommandException e, Duration timeout) {
        return switch (e.kind()) {
            case MISSING -> command.getFirst() + " not found";
            case TIMEOUT -> String.join(" ", command) + " timed out after " + show(timeout);
            case FAILED -> e.getMessage();
        };
    }

    /** {@code "dnf -C -q history list exited 1: Error: …"}: the exit code and the first of stderr. */
    static String exited(List<String> command, CommandRunner.Result r) {
        String err = abbreviate(r.stderr().isBlank() ? r.stdout() : r.stderr());
        return String.join(" ", command) + " exited " + r.exitCode() + (err.isEmpty() ? "" : ": " + err);
    }

    static String show(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    static String abbreviate(String s) {
        String one = s.strip().replaceAll("\\s*\n\\s*", " | ");
        return one.length() <= 160 ? one : one.substring(0, 157) + "...";
    }
}
