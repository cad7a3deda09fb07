package org.postern.agent.collect;

import java.time.Duration;
import java.util.List;

/**
 * Runs an external command without a shell, with a timeout. Collectors take this interface so
 * their parsers are tested on recorded outputs; {@link ProcessCommandRunner} runs for real.
 */
public interface CommandRunner {

    /** What the command printed and how it ended. */
    record Result(int exitCode, String stdout, String stderr) {}

    /**
     * Runs {@code command} (program and arguments, no shell) and waits at most {@code timeout}.
     *
     * @throws CommandException when the program is missing, times out, or cannot be started;
     *         a non-zero exit is returned, not thrown: some tools (softwareupdate) exit 1 on success
     */
    Result run(List<String> command, Duration timeout) throws CommandException;

    /** A command that could not give an answer; the message names the command and why. */
    final class CommandException extends Exception {
        public enum Kind { MISSING, TIMEOUT, FAILED }

        private final Kind kind;

        public CommandException(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
        }
    }
}
