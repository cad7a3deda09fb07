package org.postern.pki.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a real client (openssl, curl, strongSwan pki) with a bounded wait. Output goes to files, so
 * a chatty process never blocks on a full pipe. A tool that is not installed fails the test loudly.
 */
public final class Proc {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private Proc() {
    }

    /** What a process did: exit code and both outputs as text. */
    public record Result(List<String> command, int exit, String stdout, String stderr, byte[] stdoutBytes) {
        public Result ok() {
            if (exit != 0) {
                throw new AssertionError("command failed with exit " + exit + ": " + String.join(" ", command)
                        + "\n--- stdout ---\n" + stdout + "\n--- stderr ---\n" + stderr);
            }
            return this;
        }

        public String all() {
            return stdout + stderr;
        }
    }

    public static Result run(Path dir, String... command) {
        return run(dir, DEFAULT_TIMEOUT, command);
    }

    public static Result run(Path dir, Duration timeout, String... command) {
        return run(dir, timeout, java.util.Map.of(), command);
    }

    /** As {@link #run(Path, Duration, String...)} with extra environment variables. */
    public static Result run(Path dir, Duration timeout, java.util.Map<String, String> env, String... command) {
        List<String> cmd = List.of(command);
        try {
            Path out = Files.createTempFile(dir, "proc", ".out");
            Path err = Files.createTempFile(dir, "proc", ".err");
            Process p;
            try {
                ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd));
                pb.environment().putAll(env);
                p = pb.directory(dir.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            } catch (IOException e) {
                throw new AssertionError("cannot start " + cmd.getFirst() + " (" + e.getMessage() + "): the integration tests need "
                        + "openssl, curl and strongSwan's pki (Debian: apt-get install openssl curl strongswan-pki libstrongswan-extra-plugins)", e);
            }
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("command did not finish within " + timeout + ": " + String.join(" ", cmd)
                        + "\n--- stderr so far ---\n" + Files.readString(err));
            }
            byte[] stdout = Files.readAllBytes(out);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            return new Result(cmd, p.exitValue(), new String(stdout, StandardCharsets.UTF_8), stderr, stdout);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + cmd, e);
        }
    }

    /**
     * Fails (never skips) when a tool the integration tests need is missing: a green run without
     * the real clients would prove nothing.
     */
    public static void requireTools(Path dir) {
        requireTool(dir, "openssl", "openssl", "version");
        requireTool(dir, "curl", "curl", "--version");
        requireTool(dir, "strongswan-pki + libstrongswan-extra-plugins", "pki", "--help");
    }

    private static void requireTool(Path dir, String pkg, String... probe) {
        try {
            run(dir, Duration.ofSeconds(10), probe);
        } catch (AssertionError e) {
            throw new AssertionError("required tool '" + probe[0] + "' is missing: install " + pkg
                    + " (the integration tests never skip without it)", e);
        }
    }
}
