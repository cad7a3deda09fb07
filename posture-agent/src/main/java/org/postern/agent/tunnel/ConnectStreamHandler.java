package org.postern.agent.tunnel;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;

/**
 * The first exchange on a CONNECT stream (RFC 9113 §8.5): sends {@code :method CONNECT} and
 * {@code :authority host:port} without ending the stream, and waits for the gateway's answer.
 * 200 completes {@code promise} with the stream and this handler leaves; anything else fails it
 * with a {@link TunnelRefusedException} and closes the stream.
 */
public final class ConnectStreamHandler extends ChannelInboundHandlerAdapter {
    /** The gateway's reason header; HTTP/2 header names are lower case. */
    static final String REASON_HEADER = "postern-reason";
    /** What the user can do about a refusal ({@code access opens Monday 08:00 Africa/Casablanca}). */
    static final String REMEDY_HEADER = "postern-remedy";
    /** On a 200: when the window of remote-work hours that admitted the tunnel closes. */
    static final String WINDOW_END_HEADER = "postern-window-end";
    /** Beside it: how many seconds before that end to warn the user (the gateway's access.warnBeforeWindowEnd). */
    static final String WINDOW_WARNING_HEADER = "postern-window-warning";

    private final String authority;
    private final Promise<Http2StreamChannel> promise;

    public ConnectStreamHandler(String authority, Promise<Http2StreamChannel> promise) {
        this.authority = authority;
        this.promise = promise;
    }

    /** {@code host:port}, IPv6 literals in brackets. */
    public static String authority(String host, int port) {
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        DefaultHttp2Headers headers = new DefaultHttp2Headers();
        headers.method(HttpMethod.CONNECT.asciiName()).authority(authority);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false)).addListener(f -> {
            if (!f.isSuccess()) {
                fail(ctx, new TunnelRefusedException(TunnelRefusedException.Kind.FAILED, 0, null,
                        "cannot send CONNECT " + authority + ": " + f.cause()));
            }
        });
        ctx.read(); // the stream does not read by itself; the answer is the one thing read here
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2HeadersFrame h) {
                CharSequence status = h.headers().status();
                if (status != null && status.toString().equals("200") && !h.isEndStream()) {
                    CharSequence windowEnd = h.headers().get(WINDOW_END_HEADER);
                    if (windowEnd != null) {
                        CharSequence lead = h.headers().get(WINDOW_WARNING_HEADER);
                        WindowEndWarning.schedule(ctx.channel(), authority, windowEnd.toString(),
                                lead == null ? null : lead.toString());
                    }
                    ctx.pipeline().remove(this);
                    if (!promise.trySuccess((Http2StreamChannel) ctx.channel())) {
                        ctx.close(); // nobody waits any more
                    }
                    return;
                }
                CharSequence reason = h.headers().get(REASON_HEADER);
                int code = parse(status);
                CharSequence remedy = h.headers().get(REMEDY_HEADER);
                fail(ctx, TunnelRefusedException.fromGateway(authority, code, reason == null ? null : reason.toString(),
                        remedy == null ? null : remedy.toString()));
            } else if (msg instanceof Http2ResetFrame r) {
                fail(ctx, new TunnelRefusedException(TunnelRefusedException.Kind.FAILED, 0, null,
                        "the gateway reset the CONNECT " + authority + " stream (error " + r.errorCode() + ")"));
            } else {
                ctx.read(); // nothing else is expected before the headers
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        promise.tryFailure(new TunnelRefusedException(TunnelRefusedException.Kind.FAILED, 0, null,
                "the CONNECT " + authority + " stream closed before the gateway answered"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(ctx, new TunnelRefusedException(TunnelRefusedException.Kind.FAILED, 0, null,
                "CONNECT " + authority + " failed: " + cause));
    }

    private void fail(ChannelHandlerContext ctx, TunnelRefusedException e) {
        promise.tryFailure(e);
        ctx.close();
    }

    private static int parse(CharSequence status) {
        try {
            return status == null ? 0 : Integer.parseInt(status.toString());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
