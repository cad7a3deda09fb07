package org.postern.gateway.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.postern.gateway.session.FlowEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies bytes from one side of a {@link Flow} to the other. The channel does not read on its own
 * ({@code AUTO_READ=false}); it reads the next chunk only while the other side can take it
 * ({@link Channel#isWritable()}: what waits there stays under its write-buffer high-water mark,
 * and on an HTTP/2 stream under the laptop's flow-control window too), and reads again when the
 * other side becomes writable. So a slow reader on either end slows the writer instead of filling
 * the gateway's memory. One instance per side; both sides of a flow share one event loop. It never
 * looks at the bytes.
 *
 * <p>Chunks are written without a flush; the other side is flushed once per turn of the event
 * loop, after every chunk that turn brought. A flush is a TLS record or a {@code write(2)} and a
 * wake-up of the reader: a burst of HTTP/2 DATA frames read at once leaves as one write, not one
 * per frame (docs/profile-h2-relay.md).
 */
final class TunnelRelayHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(TunnelRelayHandler.class);

    /** Which end this handler reads from: the laptop ({@code CLIENT}, bytes up) or the admin host. */
    enum Side { CLIENT, SERVER }

    private final Flow flow;
    private final Side side;
    private final Runnable flushPeer = this::flushPeer;
    private ChannelHandlerContext ctx;
    private boolean inputShut;
    private boolean flushScheduled;

    TunnelRelayHandler(Flow flow, Side side) {
        this.flow = flow;
        this.side = side;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (ctx.channel().isActive()) {
            ctx.read();
        } else {
            flow.close(closedBy());
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel peer = flow.peerOf(side);
        if (!(msg instanceof ByteBuf buf) || !peer.isActive()) {
            ReferenceCountUtil.release(msg); // the other side is gone: nowhere to put it
            return;
        }
        int bytes = buf.readableBytes();
        peer.write(buf).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                flow.relayed(side, bytes);
            } else if (!flow.isClosed()) {
                LOG.debug("{}: write {} failed: {}", flow, side == Side.CLIENT ? "up" : "down", f.cause().toString());
                // into a side that is gone (a laptop's RST_STREAM, a reset socket): that side's end, as its close
                // would have named it a moment later; into a side still open: a fault
                flow.close(peer.isActive() ? FlowEnd.ERROR : flow.finishedFirst(side == Side.CLIENT ? Side.SERVER : Side.CLIENT));
            }
        });
        if (!flushScheduled) {
            flushScheduled = true;
            ctx.executor().execute(flushPeer);
        }
        readIfPeerWritable();
    }

    /** The other side took what it was given (its writability came back): read on, if this side still reads. */
    void peerWritable() {
        readIfPeerWritable();
    }

    private void readIfPeerWritable() {
        if (!inputShut && ctx.channel().isActive() && flow.peerOf(side).isWritable()) {
            ctx.read();
        }
    }

    private void flushPeer() {
        flushScheduled = false;
        flow.peerOf(side).flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // this channel is the other side's peer: when it can take bytes again, the other side reads on
        if (ctx.channel().isWritable() && flow.peerOf(side).pipeline().get(TunnelRelayHandler.class) instanceof TunnelRelayHandler other) {
            other.peerWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            inputShut = true;
            flow.inputShutdown(side);
        } else if (evt instanceof IdleStateEvent) {
            flow.close(FlowEnd.IDLE);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        flow.close(flow.finishedFirst(side));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("{}: {} side failed: {}", flow, side.name().toLowerCase(java.util.Locale.ROOT), cause.toString());
        flow.close(FlowEnd.ERROR);
    }

    private FlowEnd closedBy() {
        return side == Side.CLIENT ? FlowEnd.CLIENT_CLOSED : FlowEnd.SERVER_CLOSED;
    }
}
