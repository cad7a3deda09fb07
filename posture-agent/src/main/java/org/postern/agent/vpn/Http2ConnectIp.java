package org.postern.agent.vpn;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import org.postern.vpn.transport.H2IpLink;
import org.postern.vpn.transport.IpLink;

/**
 * CONNECT-IP as an HTTP/2 extended CONNECT stream (RFC 8441, RFC 9484 §4) on a connection that
 * is already up (the agent's {@code GatewaySession} connection: Http2FrameCodec and
 * Http2MultiplexHandler in its pipeline). Extended CONNECT may only be sent once the gateway's
 * SETTINGS allowed it: whoever reads the connection's SETTINGS frames calls {@link #remember}.
 */
public final class Http2ConnectIp {
    /** The gateway's SETTINGS_ENABLE_CONNECT_PROTOCOL, as last received on a connection. */
    static final AttributeKey<Boolean> EXTENDED_CONNECT = AttributeKey.valueOf(Http2ConnectIp.class, "extendedConnect");

    private Http2ConnectIp() {}

    /** Notes what the gateway's SETTINGS say about extended CONNECT on {@code connection}. */
    public static void remember(Channel connection, Http2SettingsFrame settings) {
        Boolean enabled = settings.settings().connectProtocolEnabled();
        if (enabled != null) {
            connection.attr(EXTENDED_CONNECT).set(enabled);
        }
    }

    /** Whether the gateway's SETTINGS on {@code connection} allowed extended CONNECT. */
    public static boolean allowed(Channel connection) {
        return Boolean.TRUE.equals(connection.attr(EXTENDED_CONNECT).get());
    }

    /**
     * Opens the stream. The future fails with {@link ConnectIpRefusedException} on a status other
     * than 200, or with an {@link IOException} saying why the stream could not be asked for.
     */
    public static CompletableFuture<IpLink> open(Channel connection, String authority) {
        return open(connection, authority, Map.of()).thenApply(ConnectIpAnswer::link);
    }

    /**
     * As {@link #open(Channel, String)}, adding {@code requestHeaders} to the request and giving the
     * whole answer (the link with its event loop, the header fields the gateway pushed).
     */
    public static CompletableFuture<ConnectIpAnswer> open(Channel connection, String authority, Map<String, String> requestHeaders) {
        CompletableFuture<ConnectIpAnswer> opened = new CompletableFuture<>();
        if (!allowed(connection)) {
            opened.completeExceptionally(new IOException("HTTP/2: expected the gateway's SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 "
                    + "(RFC 8441) on " + connection + ", found it absent: the gateway does not serve CONNECT-IP over HTTP/2"));
            return opened;
        }
        new Http2StreamChannelBootstrap(connection).handler(new ResponseHandler(opened)).open().addListener(f -> {
            if (!f.isSuccess()) {
                opened.completeExceptionally(f.cause());
                return;
            }
            Http2StreamChannel stream = (Http2StreamChannel) f.getNow();
            Http2Headers h = new DefaultHttp2Headers().method("CONNECT").scheme("https").authority(authority)
                    .path(ConnectIpRequests.PATH);
            h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), ConnectIpRequests.PROTOCOL);
            h.set(ConnectIpRequests.CAPSULE_PROTOCOL, "?1");
            requestHeaders.forEach(h::set);
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(h, false)).addListener(w -> {
                if (!w.isSuccess()) {
                    opened.completeExceptionally(w.cause());
                }
            });
        });
        return opened;
    }

    /** Reads the answer: a 200 opens the link; another status, with its body, fails the future. */
    private static final class ResponseHandler extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<ConnectIpAnswer> opened;
        private final ConnectIpReply reply = new ConnectIpReply();

        ResponseHandler(CompletableFuture<ConnectIpAnswer> opened) {
            this.opened = opened;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame headers && reply.status() == 0) {
                    int status = reply.answered(headers.headers().status(), headers.headers().get(ConnectIpRequests.REASON_HEADER));
                    if (status == 200 && !headers.isEndStream()) {
                        H2IpLink link = H2IpLink.open((Http2StreamChannel) ctx.channel());
                        ctx.pipeline().remove(this);
                        Http2Headers answer = headers.headers();
                        if (!opened.complete(ConnectIpAnswer.of(link, ctx.channel().eventLoop(), answer::get))) {
                            link.close("opened too late");
                        }
                        return;
                    }
                    if (headers.isEndStream()) {
                        refused(ctx);
                    }
                } else if (msg instanceof Http2DataFrame data) {
                    reply.addBody(data.content());
                    if (data.isEndStream()) {
                        refused(ctx);
                    }
                } else if (msg instanceof Http2ResetFrame reset) {
                    opened.completeExceptionally(new IOException("HTTP/2: the gateway reset the CONNECT-IP stream ("
                            + reset.errorCode() + ")" + (reply.status() == 0 ? "" : " after " + reply.status())));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void refused(ChannelHandlerContext ctx) {
            opened.completeExceptionally(reply.refused());
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            opened.completeExceptionally(new IOException("HTTP/2: the CONNECT-IP stream closed without an answer"));
            ctx.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            reply.release();
        }
    }
}
