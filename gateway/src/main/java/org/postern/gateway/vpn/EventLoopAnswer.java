package org.postern.gateway.vpn;

import java.util.Map;

import io.netty.channel.ChannelHandlerContext;
import org.postern.vpn.transport.IpLink;

/**
 * The acceptor's answer to a CONNECT-IP stream, moved onto the stream's event loop: the acceptor
 * may answer from any thread, while the handler's state (the held frames, its pipeline) belongs to
 * that loop. {@link #accept} waits for the link, which the acceptor needs back.
 */
abstract class EventLoopAnswer implements ConnectIpRequest.Answer {
    protected final ChannelHandlerContext ctx;

    EventLoopAnswer(ChannelHandlerContext ctx) {
        this.ctx = ctx;
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

    /** Answers 200 with {@code extra} and opens the link; on the event loop. */
    protected abstract IpLink acceptNow(Map<String, String> extra);

    /** Answers the refusal and ends the stream; on the event loop. */
    protected abstract void refuseNow(int status, String reasonCode, String message);
}
