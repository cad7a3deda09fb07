package org.postern.agent.collect.linux;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.postern.agent.collect.CommandRunner;

/**
 * Answers commands from recorded outputs. A program it was not told about is MISSING, as
 * {@code ProcessCommandRunner} reports a program that is not on the PATH.
 */
final class FakeRunner implements CommandRunner {
    private sealed interface Answer permits Output, Failure {
    }

    private record Output(Result result) implements Answer {
    }

    private record Failure(CommandException.Kind kind, String message) implements Answer {
    }

    private final Map<String, Answer> answers = new LinkedHashMap<>();
    final List<String> calls = new ArrayList<>();
    final List<Duration> timeouts = new ArrayList<>();

    /** {@code command} exits 0 printing a fixture file (its {@code #>} header removed). */
    FakeRunner prints(List<String> command, String fixture, String path) {
        return exits(command, 0, Fixtures.text(fixture, path), "");
    }

    FakeRunner exits(List<String> command, int code, String stdout, String stderr) {
        answers.put(String.join(" ", command), new Output(new Result(code, stdout, stderr)));
        return this;
    }

    FakeRunner fails(List<String> command, CommandException.Kind kind, String message) {
        answers.put(String.join(" ", command), new Failure(kind, message));
        return this;
    }

    @Override
    public Result run(List<String> command, Duration timeout) throws CommandException {
        String key = String.join(" ", command);
        calls.add(key);
        timeouts.add(timeout);
        Answer a = answers.get(key);
        return switch (a) {
            case null -> throw new CommandException(CommandException.Kind.MISSING, command.getFirst() + " not found");
            case Output o -> o.result();
            case Failure f -> throw new CommandException(f.kind(), f.message());
        };
    }
}
