package org.postern.protocol.http;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Writing HTTP answers the same way from every Postern server (PKI and gateway): keep-alive
 * honoured, no caching, and on a refusal the stable reason code in {@value #REASON_HEADER}.
 */
public final class HttpReplies {
    /** The header that carries a stable reason code on every refusal. */
    public static final String REASON_HEADER = "Postern-Reason";
    /** On a refusal the user can act on, what to do, e.g. {@code access opens Monday 08:00 Africa/Casablanca}. */
    public static final String REMEDY_HEADER = "Postern-Remedy";

    private HttpReplies() {
    }

    public static void send(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String contentType, byte[] body) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        send(ctx, req, res);
    }

    public static void send(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse res) {
        HttpUtil.setContentLength(res, res.content().readableBytes());
        boolean keepAlive = HttpUtil.isKeepAlive(req) && res.status().code() < 500;
        if (keepAlive) {
            if (!req.protocolVersion().isKeepAliveDefault()) {
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            ctx.writeAndFlush(res);
        } else {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** A refusal: short text for the peer, the reason code in {@value #REASON_HEADER}. */
    public static void refuse(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String reason, String message) {
        send(ctx, req, refusal(status, reason, message));
    }

    /** The response {@link #refuse} sends, for a handler that adds a header of its own first. */
    public static FullHttpResponse refusal(HttpResponseStatus status, String reason, String message) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.headers().set(REASON_HEADER, reason);
        return res;
    }

    /** {@code ip:port} of the client, as audit events name it ({@link ClientAddress}: behind a trusted proxy, its client). */
    public static String source(ChannelHandlerContext ctx) {
        return ClientAddress.source(ctx.channel());
    }
}
