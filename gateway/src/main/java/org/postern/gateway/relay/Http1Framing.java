package org.postern.gateway.relay;

import java.util.concurrent.TimeUnit;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpObjectEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateHandler;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.gate.GateDecision;
import org.postern.protocol.http.HttpReplies;

/** HTTP/1.1: the answer is {@code 200 Connection Established}, then the connection is the tunnel. */
final class Http1Framing implements ConnectFraming {

    private static final HttpResponseStatus ESTABLISHED = new HttpResponseStatus(200, "Connection Established");

    private final ChannelHandler handler;
    private final RelaySettings settings;
    private final FullHttpRequest req;

    /** {@code handler} is the CONNECT handler in the pipeline, which the relay replaces. */
    Http1Framing(ChannelHandler handler, RelaySettings settings, FullHttpRequest req) {
        this.handler = handler;
        this.settings = settings;
        this.req = req;
    }

    @Override
    public String authority() {
        return req.uri();
    }

    @Override
    public void refuse(ChannelHandlerContext ctx, GateDecision.Refusal r) {
        try {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.valueOf(r.httpStatus()), r.code(), r.message());
        } finally {
            req.release();
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void established(ChannelHandlerContext ctx, Flow flow, Channel server) {
        req.release();
        Channel client = ctx.channel();
        // the 200 carries no Content-Length: HttpServerCodec strips it for a successful CONNECT
        ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, ESTABLISHED))
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        flow.close(FlowEnd.ERROR);
                        return;
                    }
                    client.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
                    ChannelPipeline p = client.pipeline();
                    p.replace(handler, "relay", new TunnelRelayHandler(flow, TunnelRelayHandler.Side.CLIENT));
                    p.addBefore("relay", "relayIdle", new IdleStateHandler(0, 0,
                            settings.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                    // a gate decides once: the HTTP handlers go; bytes they held reach the relay
                    for (var e : p.toMap().entrySet()) {
                        ChannelHandler h = e.getValue();
                        if (h instanceof HttpServerCodec || h instanceof HttpObjectDecoder
                                || h instanceof HttpObjectEncoder || h instanceof HttpObjectAggregator
                                || h instanceof HttpServerKeepAliveHandler) {
                            p.remove(h);
                        }
                    }
                    server.pipeline().addLast("relay", new TunnelRelayHandler(flow, TunnelRelayHandler.Side.SERVER));
                });
    }

    @Override
    public void release() {
        req.release();
    }
}
