package org.postern.vpn.tun;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A Linux TUN interface opened through the FFM API: {@code open("/dev/net/tun")} and the
 * {@code TUNSETIFF} ioctl with {@code IFF_TUN | IFF_NO_PI}, then plain {@code read(2)} and
 * {@code write(2)} of whole IP packets on direct buffers. No JNI library to ship.
 *
 * <p>The device lives in the network namespace of the thread that opens it ({@link NetNamespace}
 * opens one elsewhere) and disappears with its last file descriptor, so a crashed agent leaves no
 * interface behind. Creating it needs {@code CAP_NET_ADMIN}; without it the error says so and
 * points at docs/vpn.md.
 *
 * <p>Closing while a thread is blocked in {@link #read}: the descriptor is non-blocking and the
 * reader waits in {@code poll(2)} on it and on an {@code eventfd} that {@link #close} signals, so
 * the reader wakes at once (0.2-1.3 ms warm, 3.6-17 ms in a cold JVM; docs/vpn.md) rather than
 * after a polling timeout; the descriptors are closed only after every reader and writer
 * has left, so no thread ever touches a number the kernel has already reused.
 */
public final class LinuxTun implements TunDevice {

    private static final String DEV_NET_TUN = "/dev/net/tun";

    private final String name;
    private final int fd;
    private final int wakeFd;
    private final int controlSocket;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Readers and writers hold the read lock while they use the descriptors; close takes the write lock. */
    private final ReentrantReadWriteLock inUse = new ReentrantReadWriteLock();
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private LinuxTun(String name, int fd, int wakeFd, int controlSocket) {
        this.name = name;
        this.fd = fd;
        this.wakeFd = wakeFd;
        this.controlSocket = controlSocket;
    }

    /**
     * Creates a TUN interface named {@code name}, or, when the name holds {@code %d}
     * ({@code pt%d}), one the kernel numbers. The interface starts down with no address;
     * {@code org.postern.vpn.link.LinkConfig} configures it.
     *
     * @throws IllegalArgumentException when the name is not a valid interface name (checked before any system call)
     * @throws UnsupportedOperationException when this is not Linux
     * @throws IOException when the kernel refuses; the message names the cause and the fix
     */
    public static LinuxTun open(String name) throws IOException {
        String os = System.getProperty("os.name", "unknown");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
            throw new UnsupportedOperationException("TUN devices are built for Linux only, this is " + os
                    + " (Wintun on Windows and utun on macOS are not built yet; docs/vpn.md)");
        }
        checkName(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Libc.errnoSlot(arena);
            int fd = Libc.open(errno, arena.allocateFrom(DEV_NET_TUN), Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_NONBLOCK);
            if (fd < 0) {
                throw openFailed(name, Libc.errno(errno));
            }
            int wakeFd = -1;
            int controlSocket = -1;
            try {
                MemorySegment ifreq = ifreq(arena, name);
                ifreq.set(ValueLayout.JAVA_SHORT, Libc.IFNAMSIZ, (short) (Libc.IFF_TUN | Libc.IFF_NO_PI));
                if (Libc.ioctl(errno, fd, Libc.TUNSETIFF, ifreq) < 0) {
                    throw setIffFailed(name, Libc.errno(errno));
                }
                String actual = ifreq.getString(0, StandardCharsets.US_ASCII);
                wakeFd = Libc.eventfd(errno, 0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
                if (wakeFd < 0) {
                    throw new IOException("creating the wake-up eventfd for TUN device " + actual + " failed: "
                            + Libc.strerror(Libc.errno(errno)));
                }
                // Opened now, on this thread, so that it lives in the device's network namespace.
                controlSocket = Libc.socket(errno, Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
                if (controlSocket < 0) {
                    throw new IOException("creating the control socket for TUN device " + actual + " failed: "
                            + Libc.strerror(Libc.errno(errno)));
                }
                return new LinuxTun(actual, fd, wakeFd, controlSocket);
            } catch (IOException | RuntimeException e) {
                for (int other : new int[] {controlSocket, wakeFd, fd}) {
                    if (other >= 0) {
                        Libc.close(errno, other);
                    }
                }
                throw e;
            }
        }
    }

    /**
     * Refuses what the kernel would refuse as an interface name, with a message that says why: empty,
     * longer than 15 bytes, {@code .} or {@code ..}, or holding {@code /}, {@code :}, whitespace or a
     * non-ASCII character; at most one {@code %d} (the kernel's numbering template).
     */
    static void checkName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("TUN device name: expected 1 to 15 characters, found an empty name");
        }
        if (name.length() >= Libc.IFNAMSIZ) {
            throw new IllegalArgumentException("TUN device name: expected at most " + (Libc.IFNAMSIZ - 1)
                    + " characters, found " + name.length() + " in \"" + name + "\"");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("TUN device name: expected a name, found \"" + name + "\"");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || c <= ' ' || c >= 0x7f) {
                throw new IllegalArgumentException("TUN device name: expected letters, digits, '-', '_' or '.', found "
                        + describe(c) + " in \"" + name + "\"");
            }
        }
        int template = name.indexOf('%');
        if (template >= 0 && (!name.startsWith("%d", template) || name.indexOf('%', template + 1) >= 0)) {
            throw new IllegalArgumentException("TUN device name: '%' is allowed only once, as the kernel's "
                    + "numbering template %d, found \"" + name + "\"");
        }
    }

    private static String describe(char c) {
        return c > ' ' && c < 0x7f ? "'" + c + "'" : String.format("character U+%04X", (int) c);
    }

    private static MemorySegment ifreq(Arena arena, String name) {
        MemorySegment ifreq = arena.allocate(Libc.IFREQ_SIZE);
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(bytes, 0, ifreq, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return ifreq;
    }

    private static IOException openFailed(String name, int errno) {
        return switch (errno) {
            case Libc.ENOENT, Libc.ENODEV -> new IOException("no " + DEV_NET_TUN
                    + ": load the tun module (modprobe tun) or, in a container, pass the device in; the kernel said: "
                    + Libc.strerror(errno));
            case Libc.EPERM, Libc.EACCES -> needsCapability(name, errno);
            default -> new IOException("opening " + DEV_NET_TUN + " for TUN device " + name + " failed: "
                    + Libc.strerror(errno));
        };
    }

    private static IOException setIffFailed(String name, int errno) {
        return switch (errno) {
            case Libc.EPERM, Libc.EACCES -> needsCapability(name, errno);
            case Libc.EBUSY -> new IOException("TUN device name " + name
                    + " is in use: another process holds that TUN device; pick another name; the kernel said: "
                    + Libc.strerror(errno));
            case Libc.EINVAL -> new IOException("creating TUN device " + name
                    + " failed: is the name taken by an interface that is not a TUN device? the kernel said: "
                    + Libc.strerror(errno));
            default -> new IOException("creating TUN device " + name + " failed: " + Libc.strerror(errno));
        };
    }

    private static IOException needsCapability(String name, int errno) {
        return new IOException("creating TUN device " + name + " needs CAP_NET_ADMIN (the agent: its systemd unit with the VPN "
                + "drop-in, docs/packaging.md; the gateway: its unit as shipped); the kernel said: "
                + Libc.strerror(errno));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int mtu() throws IOException {
        enter();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifreq = ifreq(arena, name);
            MemorySegment errno = scratch.get().errno;
            if (Libc.ioctl(errno, controlSocket, Libc.SIOCGIFMTU, ifreq) < 0) {
                throw new IOException("reading the MTU of " + name + " failed: " + Libc.strerror(Libc.errno(errno)));
            }
            return ifreq.get(ValueLayout.JAVA_INT, Libc.IFNAMSIZ);
        } finally {
            inUse.readLock().unlock();
        }
    }

    @Override
    public int read(ByteBuffer buffer) throws IOException {
        requireDirect(buffer);
        enter();
        try {
            return readOne(buffer, true);
        } finally {
            inUse.readLock().unlock();
        }
    }

    @Override
    public int read(List<ByteBuffer> buffers) throws IOException {
        if (buffers.isEmpty()) {
            throw new IllegalArgumentException("expected at least one buffer to read into, found none");
        }
        buffers.forEach(LinuxTun::requireDirect);
        enter();
        try {
            readOne(buffers.getFirst(), true);
            int filled = 1;
            while (filled < buffers.size() && readOne(buffers.get(filled), false) >= 0) {
                filled++;
            }
            return filled;
        } finally {
            inUse.readLock().unlock();
        }
    }

    /** One packet into {@code buffer}; -1 when none is queued and {@code wait} is false. */
    private int readOne(ByteBuffer buffer, boolean wait) throws IOException {
        Scratch s = scratch.get();
        MemorySegment target = MemorySegment.ofBuffer(buffer);
        while (true) {
            long n = Libc.read(s.errno, fd, target, target.byteSize());
            if (n >= 0) {
                buffer.position(buffer.position() + (int) n);
                return (int) n;
            }
            int errno = Libc.errno(s.errno);
            if (errno == Libc.EAGAIN) {
                if (!wait) {
                    return -1;
                }
                await(s, Libc.POLLIN);
            } else if (errno != Libc.EINTR) {
                throw new IOException("reading from TUN device " + name + " failed: " + Libc.strerror(errno));
            }
        }
    }

    @Override
    public void write(ByteBuffer buffer) throws IOException {
        requireDirect(buffer);
        enter();
        try {
            Scratch s = scratch.get();
            MemorySegment source = MemorySegment.ofBuffer(buffer);
            while (true) {
                long n = Libc.write(s.errno, fd, source, source.byteSize());
                if (n == source.byteSize()) {
                    buffer.position(buffer.limit());
                    return;
                }
                if (n >= 0) {
                    throw new IOException("writing a " + source.byteSize() + "-byte packet to TUN device " + name
                            + " wrote " + n + " bytes");
                }
                int errno = Libc.errno(s.errno);
                if (errno == Libc.EAGAIN) {
                    await(s, Libc.POLLOUT);
                } else if (errno != Libc.EINTR) {
                    throw new IOException("writing a " + source.byteSize() + "-byte packet to TUN device " + name
                            + " failed: " + Libc.strerror(errno)
                            + (errno == Libc.EINVAL ? " (not an IPv4 or IPv6 packet?)" : ""));
                }
            }
        } finally {
            inUse.readLock().unlock();
        }
    }

    /** Waits until the device is ready for {@code events} or closed; throws when closed. */
    private void await(Scratch s, short events) throws IOException {
        MemorySegment fds = s.pollFds;
        fds.set(ValueLayout.JAVA_INT, 0, fd);
        fds.set(ValueLayout.JAVA_SHORT, 4, events);
        fds.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        fds.set(ValueLayout.JAVA_INT, 8, wakeFd);
        fds.set(ValueLayout.JAVA_SHORT, 12, Libc.POLLIN);
        fds.set(ValueLayout.JAVA_SHORT, 14, (short) 0);
        int ready = Libc.poll(s.errno, fds, 2, -1);
        if (ready < 0 && Libc.errno(s.errno) != Libc.EINTR) {
            throw new IOException("waiting on TUN device " + name + " failed: " + Libc.strerror(Libc.errno(s.errno)));
        }
        if (fds.get(ValueLayout.JAVA_SHORT, 14) != 0 || closed.get()) {
            throw new ClosedChannelException();
        }
    }

    private void enter() throws ClosedChannelException {
        inUse.readLock().lock();
        if (closed.get()) {
            inUse.readLock().unlock();
            throw new ClosedChannelException();
        }
    }

    private static void requireDirect(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("expected a direct ByteBuffer (the kernel reads and writes it in place), "
                    + "found a heap buffer");
        }
    }

    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Libc.errnoSlot(arena);
            MemorySegment one = arena.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1L);
            // An eventfd stays readable once written: every waiter wakes, now and later.
            if (Libc.write(errno, wakeFd, one, Long.BYTES) != Long.BYTES) {
                throw new IOException("waking the readers of TUN device " + name + " failed: "
                        + Libc.strerror(Libc.errno(errno)));
            }
            inUse.writeLock().lock();
            try {
                Libc.close(errno, fd);
                Libc.close(errno, controlSocket);
                Libc.close(errno, wakeFd);
            } finally {
                inUse.writeLock().unlock();
            }
        }
    }

    @Override
    public String toString() {
        return "LinuxTun[" + name + (closed.get() ? ", closed]" : "]");
    }

    /** Per-thread native memory for errno and the poll set, so the packet path allocates nothing. */
    private static final class Scratch {
        final MemorySegment errno;
        final MemorySegment pollFds;

        Scratch() {
            Arena arena = Arena.ofAuto();
            errno = Libc.errnoSlot(arena);
            pollFds = arena.allocate(Libc.POLLFD, 2);
        }
    }
}
