package org.postern.gateway.vpn;

import java.util.Map;

import io.netty.channel.ChannelHandlerContext;
import org.postern.vpn.transport.IpLink;

/**
 * The acceptor's answer to a CONNECT-IP stream, moved onto the stream's event loop: the acceptor
 * may answer from any thread, while the handler's state (the held frames, its pipeline) belongs to
 * that loop. {@link #accept} waits for the link, which the acceptor needs back. On accept the
 * frames held while the acceptor decided go to the new link's reader and the handler steps out.
 */
abstract class EventLoopAnswer implements ConnectIpRequest.Answer {
    protected final ChannelHandlerContext ctx;
    private final HeldMessages held;

    /** {@code ctx} is the CONNECT-IP handler's, which holds {@code held}. */
    EventLoopAnswer(ChannelHandlerContext ctx, HeldMessages held) {
        this.ctx = ctx;
        this.held = held;
    }

    @Override
    public final IpLink accept(Map<String, String> headers) {
        if (ctx.executor().inEventLoop()) {
            return acceptNow(headers);
        }
        return ctx.executor().submit(() -> acceptNow(headers)).syncUninterruptibly().getNow();
    }

    @Override
    public final void refuse(int status, String reasonCode, String message) {
        ctx.executor().execute(() -> refuseNow(status, reasonCode, message));
    }

    private IpLink acceptNow(Map<String, String> extra) {
        answerOk(extra);
        IpLink link = openLink();
        held.handOver(ctx); // to the link's reader, behind the handler
        ctx.pipeline().remove(ctx.handler());
        if (!ctx.channel().isActive()) {
            link.close("the stream closed before the answer");
        }
        return link;
    }

    /** Writes the 200 with {@code capsule-protocol: ?1} and {@code extra}; on the event loop. */
    protected abstract void answerOk(Map<String, String> extra);

    /** Opens the link on the stream (its reader goes behind the handler); on the event loop. */
    protected abstract IpLink openLink();

    /** Answers the refusal and ends the stream; on the event loop. */
    protected abstract void refuseNow(int status, String reasonCode, String message);
}
