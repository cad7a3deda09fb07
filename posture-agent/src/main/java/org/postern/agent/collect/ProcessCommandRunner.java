package org.postern.agent.collect;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands for real: no shell, a fixed environment ({@code LC_ALL=C} so text output is not
 * localized where a tool honours it), stdout and stderr read concurrently so a chatty tool cannot
 * block, and the process tree killed on timeout.
 */
public final class ProcessCommandRunner implements CommandRunner {
    private static final int MAX_OUTPUT = 4 * 1024 * 1024;

    @Override
    public Result run(List<String> command, Duration timeout) throws CommandException {
        String what = String.join(" ", command);
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.put("LC_ALL", "C");
        env.put("LANG", "C");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("error=2") || msg.contains("No such file")) {
                throw new CommandException(CommandException.Kind.MISSING, command.getFirst() + " not found");
            }
            throw new CommandException(CommandException.Kind.FAILED, "cannot start " + what + ": " + msg);
        }
        closeQuietly(p);
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new CommandException(CommandException.Kind.TIMEOUT, what + " timed out after " + timeout.toMillis() + " ms");
            }
            return new Result(p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new CommandException(CommandException.Kind.FAILED, what + " interrupted");
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new CommandException(CommandException.Kind.FAILED, "cannot read the output of " + what + ": " + e.getMessage());
        }
    }

    /** The command gets an empty stdin: nothing it waits for. */
    private static void closeQuietly(Process p) {
        try {
            p.getOutputStream().close();
        } catch (IOException e) {
            // already gone
        }
    }

    private static String read(InputStream in) {
        try (in) {
            byte[] b = in.readNBytes(MAX_OUTPUT);
            in.transferTo(java.io.OutputStream.nullOutputStream()); // drain the rest so the process is not blocked
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
