package org.postern.gateway.relay;

import java.util.ArrayDeque;
import java.util.Queue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The admin host's side of a flow from its first moment until the relay takes over: holds, in
 * order, every byte, the end of its input ({@link ChannelInputShutdownEvent}), a failure and the
 * close that arrive before then, and gives them to the relay at {@link #handOver}.
 *
 * <p>The outbound socket does not read on its own ({@code AUTO_READ=false}), yet a native
 * transport reads when the peer hangs up: epoll and io_uring take what is pending with the FIN. A
 * host that writes a banner and closes at once — before the laptop has its 200 and the relay is in
 * place — thus had its bytes and its FIN fall off the pipeline's tail. Held here, they reach the
 * laptop as they would have a moment later. What is held is bounded by what the socket had
 * received (the host stopped sending when it hung up); past {@link #MAX_HELD} the socket closes.
 * Released when the flow never starts (the channel's pipeline is taken down on close).
 */
final class DestinationHoldHandler extends ChannelDuplexHandler {

    /** The pipeline name. */
    static final String NAME = "destinationHold";
    /** More than a socket's receive buffer: past this, something reads regardless, and the socket closes. */
    static final int MAX_HELD = 16 << 20;
    /** Marks the close in the held sequence. */
    private static final Object INACTIVE = new Object();

    private final Queue<Object> held = new ArrayDeque<>();
    private long bytes;
    private boolean inputShut;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            bytes += buf.readableBytes();
            if (bytes > MAX_HELD) {
                buf.release();
                ctx.close();
                return;
            }
        }
        held.add(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // held: nobody behind asks for more input
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            inputShut = true;
            held.add(evt);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    /**
     * The relay asks for input as it starts and after each write; once the held end of input is
     * on its way to it there is nothing more to read, so no read interest is asked of the socket.
     */
    @Override
    public void read(ChannelHandlerContext ctx) {
        if (!inputShut) {
            ctx.read();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        held.add(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        held.add(INACTIVE);
    }

    /**
     * Puts {@code relay} behind the hold on {@code server}, gives it what was held, in order, and
     * takes the hold out; on the channel's event loop. Without a hold (the channel closed and its
     * pipeline was taken down) the relay is added alone, and finds the channel closed.
     */
    static void handOver(Channel server, ChannelInboundHandlerAdapter relay) {
        ChannelHandlerContext ctx = server.pipeline().context(NAME);
        if (ctx == null) {
            server.pipeline().addLast("relay", relay);
            return;
        }
        server.pipeline().addAfter(NAME, "relay", relay);
        ((DestinationHoldHandler) ctx.handler()).replay(ctx);
        server.pipeline().remove(NAME);
    }

    private void replay(ChannelHandlerContext ctx) {
        Object o;
        while ((o = held.poll()) != null) {
            if (o == INACTIVE) {
                ctx.fireChannelInactive();
            } else if (o instanceof ChannelInputShutdownEvent) {
                ctx.fireUserEventTriggered(o);
            } else if (o instanceof Throwable cause) {
                ctx.fireExceptionCaught(cause);
            } else {
                ctx.fireChannelRead(o);
            }
        }
        bytes = 0;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        Object o;
        while ((o = held.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    @Override
    public String toString() {
        return "DestinationHoldHandler(" + held.size() + " held, " + bytes + " bytes)";
    }
}
