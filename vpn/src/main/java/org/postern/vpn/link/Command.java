package org.postern.vpn.link;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;

/**
 * Runs a system tool ({@code ip}, {@code resolvectl}) with no shell, a bounded wait and its
 * standard error in the failure message, so "RTNETLINK answers: File exists" reaches the user.
 * Both outputs are read while it runs, so a chatty tool never blocks on a full pipe. The agent
 * ({@code ip}) and the gateway ({@code nft}) run their tools through it too.
 */
public final class Command {

    private Command() {
    }

    /** Runs {@code argv}, feeding it {@code input}; returns its standard output. */
    public static String run(List<String> argv, @Nullable String input, Duration timeout) throws IOException {
        Process process;
        try {
            process = new ProcessBuilder(argv).start();
        } catch (IOException e) {
            throw new IOException("running " + argv.getFirst() + " failed (is it installed?): " + e.getMessage(), e);
        }
        CompletableFuture<String> out = drain(process.getInputStream());
        CompletableFuture<String> err = drain(process.getErrorStream());
        try (OutputStream stdin = process.getOutputStream()) {
            if (input != null) {
                stdin.write(input.getBytes(StandardCharsets.UTF_8));
            }
        }
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", argv) + " did not finish within " + timeout.toMillis() + " ms");
            }
            String stderr = err.join().strip();
            if (process.exitValue() != 0) {
                throw new IOException(String.join(" ", argv) + " failed with exit code " + process.exitValue()
                        + (stderr.isEmpty() ? "" : ": " + stderr));
            }
            return out.join();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + argv.getFirst(), e);
        }
    }

    private static CompletableFuture<String> drain(InputStream stream) {
        CompletableFuture<String> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (stream) {
                result.complete(new String(stream.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                result.complete("");
            }
        });
        return result;
    }
}
