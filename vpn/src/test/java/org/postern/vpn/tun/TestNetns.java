package org.postern.vpn.tun;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away network namespace {@code pt-<random>} for a test, deleted by {@link #delete}; fails loudly
 * (never skips) when the test is not root or the kernel has no TUN support.
 */
public final class TestNetns {

    public final String name;

    private TestNetns(String name) {
        this.name = name;
    }

    public static TestNetns create() throws Exception {
        requireRootAndTun();
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        TestNetns ns = new TestNetns("pt-" + HexFormat.of().formatHex(random));
        run(List.of("ip", "netns", "add", ns.name));
        run(List.of("ip", "-n", ns.name, "link", "set", "lo", "up"));
        return ns;
    }

    /** Fails (never skips) when these root-only tests cannot run, saying what is missing. */
    public static void requireRootAndTun() throws IOException {
        String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?");
        if (!uid.split("\\s+")[1].equals("0")) {
            throw new AssertionError("these tests create network namespaces and TUN devices: run them as root (" + uid + ")");
        }
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            throw new AssertionError("no /dev/net/tun on this machine: load the tun module (modprobe tun)");
        }
    }

    /** Runs {@code command} inside the namespace ({@code ip netns exec}); returns exit code and output. */
    public Result exec(List<String> command, long timeoutSeconds) throws Exception {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", name));
        argv.addAll(command);
        return runAllowingFailure(argv, timeoutSeconds);
    }

    public static String run(List<String> argv) throws Exception {
        Result r = runAllowingFailure(argv, 20);
        if (r.exitCode != 0) {
            throw new AssertionError(String.join(" ", argv) + " exited " + r.exitCode + ": " + r.output);
        }
        return r.output;
    }

    public static Result runAllowingFailure(List<String> argv, long timeoutSeconds) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[][] holder = new byte[1][];
        Thread out = Thread.ofVirtual().start(() -> {
            try {
                holder[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                holder[0] = new byte[0];
            }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", argv) + " did not finish within " + timeoutSeconds + " s");
        }
        out.join();
        return new Result(p.exitValue(), new String(holder[0], StandardCharsets.UTF_8));
    }

    public record Result(int exitCode, String output) {
    }

    /** Deletes the namespace (and with it every interface still in it). */
    public void delete() throws Exception {
        run(List.of("ip", "netns", "delete", name));
    }
}
