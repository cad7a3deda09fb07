package org.postern.vpn.tun;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Runs code inside a named network namespace ({@code ip netns add NAME}, which pins it at
 * {@code /run/netns/NAME}), so that a {@link LinuxTun} opened there, and the sockets opened with
 * it, belong to that namespace. Tests use it to keep tunnel traffic off the host's interfaces.
 *
 * <p>{@code setns(2)} moves only the calling thread, and the JVM gives every Java platform thread
 * its own kernel thread; so the action runs on a fresh platform thread that enters the namespace
 * and then ends, and no pooled thread is ever left in a foreign namespace. File descriptors
 * keep the namespace they were created in, so what the action opens can be used from any thread.
 */
public final class NetNamespace {

    private static final Path NETNS_DIR = Path.of("/run/netns");

    private NetNamespace() {
    }

    /**
     * Calls {@code action} on a new thread inside namespace {@code name} and returns its result.
     *
     * @throws IOException when the namespace cannot be entered (missing, or no CAP_SYS_ADMIN), or
     *         what the action threw, unwrapped
     */
    public static <T> T call(String name, Callable<T> action) throws Exception {
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("network namespace: expected a name as `ip netns add` takes, found \""
                    + name + "\"");
        }
        Path path = NETNS_DIR.resolve(name);
        FutureTask<T> task = new FutureTask<>(() -> {
            enter(path);
            return action.call();
        });
        Thread thread = Thread.ofPlatform().name("netns-" + name).start(task);
        try {
            return task.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        } finally {
            thread.join();
        }
    }

    private static void enter(Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Libc.errnoSlot(arena);
            int fd = Libc.open(errno, arena.allocateFrom(path.toString()), Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (fd < 0) {
                throw new IOException("opening network namespace " + path + " failed (create it with `ip netns add`): "
                        + Libc.strerror(Libc.errno(errno)));
            }
            try {
                if (Libc.setns(errno, fd, Libc.CLONE_NEWNET) < 0) {
                    throw new IOException("entering network namespace " + path + " failed (needs CAP_SYS_ADMIN): "
                            + Libc.strerror(Libc.errno(errno)));
                }
            } finally {
                Libc.close(errno, fd);
            }
        }
    }
}
