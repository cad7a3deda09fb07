package org.postern.agent.session;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;

/**
 * Finds out that the gateway is gone when nothing says so: a gateway whose host lost power or whose
 * link was cut sends no FIN, no reset and no GOAWAY, and TCP alone would notice only after many
 * minutes. After {@link #QUIET} without a frame from the gateway (of any stream) this sends an
 * HTTP/2 PING, which the gateway's codec answers at once; when {@link #QUIET} passes again without a
 * frame, the connection is closed with that as its failure, and the session moves on to the next
 * gateway (docs/agent.md "Failover between gateways"). Sits right after the HTTP/2 codec, before
 * the stream multiplexer, where it sees every frame, with an {@link IdleStateHandler} just before it
 * ({@link #idleState()}).
 */
final class GatewayPingHandler extends ChannelInboundHandlerAdapter {
    /** Quiet time before a PING, and again before giving up: a dead gateway is noticed within twice this. */
    static final Duration QUIET = Duration.ofSeconds(15);

    /** The idle detector this handler reacts to. */
    static IdleStateHandler idleState() {
        return new IdleStateHandler(QUIET.toMillis(), 0, 0, TimeUnit.MILLISECONDS);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (!(evt instanceof IdleStateEvent idle)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (idle.isFirst()) {
            ctx.writeAndFlush(new DefaultHttp2PingFrame(System.nanoTime()));
            return;
        }
        ctx.channel().attr(GatewayConnector.FAILURE).setIfAbsent(new IOException("no frame from the gateway, not even the"
                + " answer to an HTTP/2 PING, for " + QUIET.multipliedBy(2).toSeconds() + " s"));
        ctx.close();
    }
}
