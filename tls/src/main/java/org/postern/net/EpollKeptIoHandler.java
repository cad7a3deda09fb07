package org.postern.net;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.util.concurrent.ThreadAwareExecutor;

/**
 * Netty's epoll I/O handler, with one defect worked around: a socket stays in the epoll set
 * while it wants no event.
 *
 * <p>Netty 4.2.18 (and 4.2.21, the newest checked) takes a socket out of the epoll set
 * ({@code EPOLL_CTL_DEL}) when the events it wants drop to none, but still counts it as added;
 * the next interest is then an {@code EPOLL_CTL_MOD}, which the kernel refuses ({@code
 * epoll_ctl(..) failed with error(-2): No such file or directory}). The events drop to none after
 * a half-close: the input is shut (no read interest, no {@code EPOLLRDHUP}) and no write is
 * waiting (no {@code EPOLLOUT}). The next write that does not fit the socket buffer then fails
 * ({@code ChannelOutputShutdownException}): a relay carrying bytes the other way after one side's
 * FIN loses them, and the connection is cut ({@code TransportRelayTest}, bulk both ways at once).
 *
 * <p>Here "no event" is submitted as {@code EPOLLET} alone: the socket stays in the set, wanting
 * only what the kernel always reports ({@code EPOLLERR}, {@code EPOLLHUP}), once per change
 * rather than on every wait, which is what the deletion was for; the next interest is a valid
 * {@code EPOLL_CTL_MOD}. Netty's channels do nothing on a lone {@code EPOLLHUP}, and act on
 * {@code EPOLLERR} (a reset) as they do anyway. A socket never yet added is left to Netty, which
 * adds it with its first interest.
 */
final class EpollKeptIoHandler implements IoHandler {

    private final IoHandler epoll;

    private EpollKeptIoHandler(IoHandler epoll) {
        this.epoll = epoll;
    }

    /** Netty's epoll handler factory, its handlers wrapped. */
    static IoHandlerFactory newFactory() {
        IoHandlerFactory epoll = EpollIoHandler.newFactory();
        return new IoHandlerFactory() {
            @Override
            public IoHandler newHandler(ThreadAwareExecutor executor) {
                return new EpollKeptIoHandler(epoll.newHandler(executor));
            }

            @Override
            public boolean isChangingThreadSupported() {
                return epoll.isChangingThreadSupported();
            }
        };
    }

    @Override
    public void initialize() {
        epoll.initialize();
    }

    @Override
    public int run(IoHandlerContext context) {
        return epoll.run(context);
    }

    @Override
    public void prepareToDestroy() {
        epoll.prepareToDestroy();
    }

    @Override
    public void destroy() {
        epoll.destroy();
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return new KeptRegistration(epoll.register(handle));
    }

    @Override
    public void wakeup() {
        epoll.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return epoll.isCompatible(handleType);
    }

    /** One socket's registration; submits "no event" as {@code EPOLLET} once the socket is in the set. */
    private static final class KeptRegistration implements IoRegistration {
        private final IoRegistration registration;
        private boolean added;

        KeptRegistration(IoRegistration registration) {
            this.registration = registration;
        }

        @Override
        public <T> T attachment() {
            return registration.attachment();
        }

        @Override
        public synchronized long submit(IoOps ops) {
            if (((EpollIoOps) ops).value() == EpollIoOps.NONE.value()) {
                return added ? registration.submit(EpollIoOps.EPOLLET) : registration.submit(ops);
            }
            long submitted = registration.submit(ops);
            if (submitted >= 0) {
                added = true; // Netty added the socket (or modified it) with this interest
            }
            return submitted;
        }

        @Override
        public boolean isValid() {
            return registration.isValid();
        }

        @Override
        public boolean cancel() {
            return registration.cancel();
        }
    }
}
