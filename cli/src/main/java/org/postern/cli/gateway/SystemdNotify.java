package org.postern.cli.gateway;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * systemd's readiness protocol ({@code sd_notify}, {@code Type=notify}): one datagram such as
 * {@code READY=1} to the Unix socket named by {@code $NOTIFY_SOCKET}. The JDK's Unix-domain
 * channels are stream sockets only, so the datagram goes through the C library with the FFM API
 * (socket, sendto, close). Without {@code $NOTIFY_SOCKET} (not started by systemd) nothing is done.
 */
final class SystemdNotify {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    /** sizeof(sun_path) in struct sockaddr_un on Linux. */
    private static final int SUN_PATH = 108;

    private SystemdNotify() {
    }

    /**
     * Sends {@code state} to {@code socket} (a path, or {@code @name} for the abstract namespace).
     * Returns false when {@code socket} is null or empty; throws when the socket exists but the
     * message cannot be sent, naming the socket and the C error.
     */
    static boolean send(String socket, String state) {
        if (socket == null || socket.isEmpty()) {
            return false;
        }
        byte[] path = socket.getBytes(StandardCharsets.UTF_8);
        boolean atAbstract = path[0] == '@';
        if (path.length >= SUN_PATH || !(atAbstract || path[0] == '/')) {
            throw new IllegalArgumentException("NOTIFY_SOCKET: expected an absolute path or @name shorter than "
                    + SUN_PATH + " bytes, found \"" + socket + "\"");
        }
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MethodHandle socketCall = linker.downcallHandle(libc.find("socket").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        MethodHandle sendto = linker.downcallHandle(libc.find("sendto").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }; abstract names start with a NUL
            MemorySegment addr = arena.allocate(2 + SUN_PATH);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(path, 0, addr, ValueLayout.JAVA_BYTE, 2, path.length);
            if (atAbstract) {
                addr.set(ValueLayout.JAVA_BYTE, 2, (byte) 0);
            }
            int addrLen = 2 + path.length + (atAbstract ? 0 : 1);
            byte[] message = state.getBytes(StandardCharsets.UTF_8);
            MemorySegment buf = arena.allocate(message.length);
            MemorySegment.copy(message, 0, buf, ValueLayout.JAVA_BYTE, 0, message.length);
            int fd = (int) socketCall.invokeExact(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw new IllegalStateException("sd_notify: cannot open a Unix datagram socket");
            }
            try {
                long sent = (long) sendto.invokeExact(fd, buf, (long) message.length, 0, addr, addrLen);
                if (sent != message.length) {
                    throw new IllegalStateException("sd_notify: expected to send " + message.length + " bytes to "
                            + socket + ", sent " + sent + " (is it systemd's socket?)");
                }
            } finally {
                int ignored = (int) close.invokeExact(fd);
            }
            return true;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("sd_notify: " + t, t);
        }
    }
}
