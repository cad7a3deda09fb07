package org.postern.bench.tunnel;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;

/**
 * Opens a tunnel on a new HTTP/2 stream as the agent does (RFC 9113 §8.5): {@code :method CONNECT}
 * and {@code :authority}, the stream left open; 200 completes {@code opened} and this handler
 * leaves the pipeline, anything else fails it with the status and the gateway's reason.
 */
final class ConnectStreamHandler extends ChannelInboundHandlerAdapter {
    private final String authority;
    private final Promise<Void> opened;

    ConnectStreamHandler(String authority, Promise<Void> opened) {
        this.authority = authority;
        this.opened = opened;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        DefaultHttp2Headers headers = new DefaultHttp2Headers();
        headers.method(HttpMethod.CONNECT.asciiName()).authority(authority);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false)).addListener(f -> {
            if (!f.isSuccess()) {
                opened.tryFailure(f.cause());
            }
        });
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2HeadersFrame h) {
                CharSequence status = h.headers().status();
                if (status != null && "200".contentEquals(status) && !h.isEndStream()) {
                    ctx.pipeline().remove(this);
                    opened.trySuccess(null);
                    return;
                }
                opened.tryFailure(new IllegalStateException("CONNECT " + authority + ": expected 200, found " + status
                        + " (postern-reason " + h.headers().get("postern-reason") + ")"));
                ctx.close();
            } else if (msg instanceof Http2ResetFrame r) {
                opened.tryFailure(new IllegalStateException("CONNECT " + authority + ": stream reset (error " + r.errorCode() + ")"));
                ctx.close();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        opened.tryFailure(new IllegalStateException("CONNECT " + authority + ": the stream closed before the answer"));
        ctx.fireChannelInactive();
    }
}
