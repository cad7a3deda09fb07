package org.postern.net;

import java.net.BindException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.Errors;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import org.jspecify.annotations.Nullable;
import org.postern.config.TransportChoice;

/**
 * The Netty transport a process uses for all its sockets, chosen once at start ({@link #choose}):
 * the event loops' I/O handler and the matching server and client channel classes, which must
 * agree (a channel registers only on a loop of its own transport). io_uring and epoll are Linux's
 * native transports (fewer copies and system calls than NIO); NIO runs everywhere.
 *
 * <pre>{@code
 * Transport t = Transport.choose(settings.transport());
 * EventLoopGroup group = t.newGroup(0);
 * new ServerBootstrap().group(group).channel(t.serverChannel())...
 * }</pre>
 */
public enum Transport {
    IO_URING("io_uring", IoUring::isAvailable, IoUring::unavailabilityCause, IoUringIoHandler::newFactory,
            IoUringIoHandler.class, IoUringServerSocketChannel.class, IoUringSocketChannel.class),
    /** Netty's epoll handler, kept from dropping a half-closed socket out of the epoll set ({@link EpollKeptIoHandler}). */
    EPOLL("epoll", Epoll::isAvailable, Epoll::unavailabilityCause, EpollKeptIoHandler::newFactory,
            EpollKeptIoHandler.class, EpollServerSocketChannel.class, EpollSocketChannel.class),
    NIO("nio", () -> true, () -> null, NioIoHandler::newFactory,
            NioIoHandler.class, NioServerSocketChannel.class, NioSocketChannel.class);

    /**
     * What {@code auto} tries, best first: epoll, then NIO, which runs everywhere. io_uring only when
     * named: under Netty 4.2.18 a large write queued after the peer's FIN stalls on it, and the relay
     * suite fails an io_uring case now and then (docs/gateway.md "Transport").
     */
    private static final List<Transport> PREFERENCE = List.of(EPOLL, NIO);

    private final String spelling;
    private final Supplier<Boolean> available;
    private final Supplier<@Nullable Throwable> cause;
    private final Supplier<IoHandlerFactory> factory;
    private final Class<? extends IoHandler> handler;
    private final Class<? extends ServerSocketChannel> serverChannel;
    private final Class<? extends SocketChannel> socketChannel;

    Transport(String spelling, Supplier<Boolean> available, Supplier<@Nullable Throwable> cause,
              Supplier<IoHandlerFactory> factory, Class<? extends IoHandler> handler,
              Class<? extends ServerSocketChannel> serverChannel,
              Class<? extends SocketChannel> socketChannel) {
        this.spelling = spelling;
        this.available = available;
        this.cause = cause;
        this.factory = factory;
        this.handler = handler;
        this.serverChannel = serverChannel;
        this.socketChannel = socketChannel;
    }

    /**
     * The transport for {@code choice}: {@code auto} epoll when available, else NIO; a named one
     * (io_uring too) if it is available.
     *
     * @throws IllegalStateException when the named transport is not available here, with Netty's
     *                               reason (a kernel without io_uring, a missing native library)
     */
    public static Transport choose(TransportChoice choice) {
        Objects.requireNonNull(choice, "choice");
        return switch (choice) {
            case AUTO -> PREFERENCE.stream().filter(Transport::isAvailable).findFirst().orElse(NIO);
            case IO_URING -> IO_URING.require();
            case EPOLL -> EPOLL.require();
            case NIO -> NIO;
        };
    }

    /**
     * The transport of {@code group}'s event loops: a channel registers only on a loop of its own
     * transport, so a socket opened on that loop (the relay's outbound connection, the agent's
     * connection to the gateway) takes its classes from here.
     *
     * @throws IllegalArgumentException for a group that runs none of these transports
     */
    public static Transport of(EventLoopGroup group) {
        if (group instanceof IoEventLoopGroup io) {
            for (Transport t : values()) {
                if (io.isIoType(t.handler)) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException("expected event loops of transport io_uring, epoll or nio, found "
                + group.getClass().getName());
    }

    /**
     * The bind failure in {@code failure} or its causes, if it is one. NIO throws the JDK's
     * {@link BindException}; io_uring and epoll throw Netty's {@link Errors.NativeIoException}
     * ({@code bind(..) failed with error(-98): Address already in use}), given back here as a
     * {@code BindException} with the system's words ({@code Address already in use}), so a caller
     * names the listener the same way under every transport.
     */
    public static Optional<BindException> bindFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof BindException b) {
                return Optional.of(b);
            }
            if (t instanceof Errors.NativeIoException n && n.getMessage() != null && n.getMessage().startsWith("bind(")) {
                String m = n.getMessage();
                int words = m.indexOf("): ");
                BindException b = new BindException(words < 0 ? m : m.substring(words + 3));
                b.initCause(n);
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /** This transport if it is available, else a failure naming it and Netty's reason. */
    public Transport require() {
        if (!isAvailable()) {
            Throwable why = unavailabilityCause();
            throw new IllegalStateException("transport: " + spelling + " is not available on this host ("
                    + (why == null ? "no reason given" : why.toString())
                    + "); choose another transport or auto, which falls back to NIO", why);
        }
        return this;
    }

    /** Whether Netty can use this transport here (its native library loaded, the kernel supports it). */
    public boolean isAvailable() {
        try {
            return available.get();
        } catch (LinkageError e) { // a native transport's classes without their library
            return false;
        }
    }

    /** Why this transport is not available, or null when it is. */
    public @Nullable Throwable unavailabilityCause() {
        try {
            return cause.get();
        } catch (LinkageError e) {
            return e;
        }
    }

    /** The I/O handler of this transport's event loops. */
    public IoHandlerFactory ioHandlerFactory() {
        return factory.get();
    }

    /** An event loop group of {@code threads} loops ({@code 0}: Netty's default, twice the cores). */
    public EventLoopGroup newGroup(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, ioHandlerFactory());
    }

    /** The listening socket's channel class. */
    public Class<? extends ServerSocketChannel> serverChannel() {
        return serverChannel;
    }

    /** The connecting socket's channel class. */
    public Class<? extends SocketChannel> socketChannel() {
        return socketChannel;
    }

    /** The name as the {@code transport} setting and the logs write it: {@code io_uring}, {@code epoll}, {@code nio}. */
    @Override
    public String toString() {
        return spelling;
    }
}
