package org.postern.agent.session;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * One request to the gateway on its own stream of the connection: a POST (JSON to the posture
 * endpoints, an OpenSSH key line to {@code /v1/ssh/certificate}), answered by a whole response (at
 * most {@link #MAX_RESPONSE} bytes).
 */
public final class PostureExchange {
    public static final String CHALLENGE_PATH = "/v1/posture/challenge";
    public static final String EVIDENCE_PATH = "/v1/posture/evidence";
    static final int MAX_RESPONSE = 64 * 1024;

    private PostureExchange() {
    }

    /** The answer: status, reason header and body. */
    public record Answer(int status, String reason, String body) {
    }

    /** Posts {@code json} on a new stream of {@code connection} (the bench's simulated laptops use it too). */
    public static Future<Answer> post(Channel connection, String authority, String path, String json) {
        return post(connection, authority, path, "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    static Future<Answer> post(Channel connection, String authority, String path, String contentType, byte[] body) {
        Promise<Answer> promise = connection.eventLoop().newPromise();
        new Http2StreamChannelBootstrap(connection).handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false));
                ch.pipeline().addLast(new HttpObjectAggregator(MAX_RESPONSE));
                ch.pipeline().addLast(new SimpleChannelInboundHandler<FullHttpResponse>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                        promise.trySuccess(new Answer(res.status().code(), res.headers().get("postern-reason"),
                                res.content().toString(StandardCharsets.UTF_8)));
                        ctx.close();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        promise.tryFailure(new java.io.IOException("the gateway closed the " + path + " stream before answering"));
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        promise.tryFailure(cause);
                        ctx.close();
                    }
                });
            }
        }).open().addListener((Future<Http2StreamChannel> f) -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path, Unpooled.wrappedBuffer(body));
            req.headers().set(HttpHeaderNames.HOST, authority);
            req.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            req.headers().set(HttpHeaderNames.ACCEPT, contentType.equals("application/json") ? contentType : "text/plain");
            req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            f.getNow().writeAndFlush(req).addListener(w -> {
                if (!w.isSuccess()) {
                    promise.tryFailure(w.cause());
                }
            });
        });
        return promise;
    }
}
