package org.postern.vpn.transport;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import org.jspecify.annotations.Nullable;

/**
 * What both links share: the receiver, the bytes held until it is set, closing once, and moving
 * calls from other threads to the link's event loop.
 */
abstract class AbstractIpLink implements IpLink {
    /** What arrived before the receiver was set, in order: stream bytes, datagrams, or the close reason. */
    private sealed interface Held permits Stream, Datagram, Closed {}
    private record Stream(ByteBuf bytes) implements Held {}
    private record Datagram(ByteBuf payload) implements Held {}
    private record Closed(String why) implements Held {}

    private final Queue<Held> held = new ArrayDeque<>();
    protected final Channel stream;
    private @Nullable Receiver receiver;
    private volatile boolean closed;

    AbstractIpLink(Channel stream) {
        this.stream = Objects.requireNonNull(stream, "stream");
        stream.config().setAutoRead(false);
    }

    /** Fails unless called on {@code stream}'s event loop, where a link is opened. */
    static void requireEventLoop(Channel stream, String caller) {
        if (!stream.eventLoop().inEventLoop()) {
            throw new IllegalStateException(caller + ": expected the stream's event loop, found " + Thread.currentThread());
        }
    }

    protected final EventLoop loop() {
        return stream.eventLoop();
    }

    /**
     * Runs {@code task} on the link's event loop, now if called there. A loop that no longer takes
     * tasks (the client's group shut down as its QUIC connection closed, which can happen before the
     * caller got to {@link #setReceiver}) runs nothing of this link any more, so the task runs here:
     * the receiver still hears the close reason held for it.
     */
    protected final void onLoop(Runnable task) {
        EventLoop loop = loop();
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            task.run();
        }
    }

    protected final boolean isClosed() {
        return closed;
    }

    @Override
    public final void sendStream(ByteBuf bytes) {
        onLoop(() -> {
            if (isClosed()) {
                bytes.release();
            } else {
                stream.write(dataFrame(bytes), stream.voidPromise());
            }
        });
    }

    /** {@code bytes} as one DATA frame of this link's HTTP version (ownership passes on). */
    protected abstract Object dataFrame(ByteBuf bytes);

    @Override
    public final void setReceiver(Receiver receiver) {
        Objects.requireNonNull(receiver, "receiver");
        onLoop(() -> {
            this.receiver = receiver;
            Held h;
            while ((h = held.poll()) != null) {
                switch (h) {
                    case Stream s -> receiver.onStream(s.bytes());
                    case Datagram d -> receiver.onDatagram(d.payload());
                    case Closed c -> receiver.onClose(c.why());
                }
            }
            if (!closed) {
                stream.config().setAutoRead(true);
            }
        });
    }

    /** Stream bytes from the peer (on the event loop; ownership passes on). */
    final void deliverStream(ByteBuf bytes) {
        if (closed) {
            bytes.release();
        } else if (receiver == null) {
            held.add(new Stream(bytes));
        } else {
            receiver.onStream(bytes);
        }
    }

    /** A datagram payload from the peer (on the event loop; ownership passes on). */
    final void deliverDatagram(ByteBuf payload) {
        if (closed) {
            payload.release();
        } else if (receiver == null) {
            held.add(new Datagram(payload));
        } else {
            receiver.onDatagram(payload);
        }
    }

    /** Marks the link closed and tells the receiver, once (on the event loop). */
    final void closed(String why) {
        if (closed) {
            return;
        }
        closed = true;
        forgotten();
        if (receiver == null) {
            held.add(new Closed(why));
        } else {
            receiver.onClose(why);
        }
    }

    /** Drops what the link registered elsewhere (its datagram route) once it is closed. */
    protected void forgotten() {}

    @Override
    public final void close(String why) {
        Objects.requireNonNull(why, "why");
        onLoop(() -> {
            if (!closed) {
                finish(why);
                closed(why);
            }
        });
    }

    /**
     * Ends the stream towards the peer (on the event loop), with a {@value IpLink#CLOSE_TRAILER}
     * trailer when {@code why} is a reason code ({@link #isReasonCode}).
     */
    protected abstract void finish(String why);

    /** Whether {@code why} may go into a trailer: a short lower-case code such as {@code revoked} or {@code lease_ended}. */
    static boolean isReasonCode(String why) {
        return why.length() <= 32 && why.matches("[a-z][a-z_]*");
    }
}
