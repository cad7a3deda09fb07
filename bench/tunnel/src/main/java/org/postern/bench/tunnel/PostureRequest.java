package org.postern.bench.tunnel;

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
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * One JSON POST to the gateway's posture endpoints on its own HTTP/2 stream, as the agent sends
 * it ({@code /v1/posture/challenge}, then {@code /v1/posture/evidence}); the answer is the status
 * and the body.
 */
final class PostureRequest {
    static final String CHALLENGE = "/v1/posture/challenge";
    static final String EVIDENCE = "/v1/posture/evidence";
    private static final int MAX_ANSWER = 64 * 1024;

    /** The gateway's answer. */
    record Answer(int status, String body) {
    }

    private PostureRequest() {
    }

    static Future<Answer> post(Channel connection, String authority, String path, String json) {
        Promise<Answer> answer = connection.eventLoop().newPromise();
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        new Http2StreamChannelBootstrap(connection).handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false), new HttpObjectAggregator(MAX_ANSWER),
                        new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                                answer.trySuccess(new Answer(res.status().code(), res.content().toString(StandardCharsets.UTF_8)));
                                ctx.close();
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                answer.tryFailure(new IllegalStateException(path + ": the stream closed before the answer"));
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                answer.tryFailure(cause);
                                ctx.close();
                            }
                        });
            }
        }).open().addListener((Future<Http2StreamChannel> f) -> {
            if (!f.isSuccess()) {
                answer.tryFailure(f.cause());
                return;
            }
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path, Unpooled.wrappedBuffer(body));
            req.headers().set(HttpHeaderNames.HOST, authority)
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            f.getNow().writeAndFlush(req).addListener(w -> {
                if (!w.isSuccess()) {
                    answer.tryFailure(w.cause());
                }
            });
        });
        return answer;
    }
}
