package org.postern.gateway.vpn;

import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.ClientAddress;
import org.postern.protocol.http.HttpReplies;
import org.postern.vpn.transport.H2IpLink;
import org.postern.vpn.transport.IpLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CONNECT-IP on an HTTP/2 stream (RFC 8441 extended CONNECT): put in place of the tunnel
 * listener's CONNECT handler by {@code relay.Http2ConnectHandler} when a CONNECT carries
 * {@code :protocol connect-ip}. The same checks ({@link ConnectIpRequestCheck}) and the same
 * {@link ConnectIpAcceptor} as HTTP/3; frames that arrive while the acceptor decides are held
 * (no more than the stream window) and given to the {@link H2IpLink} in order.
 */
public final class H2ConnectIpHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(H2ConnectIpHandler.class);

    private final ConnectIpAcceptor acceptor;
    private final HeldMessages held = new HeldMessages();
    private boolean asked;

    public H2ConnectIpHandler(ConnectIpAcceptor acceptor) {
        this.acceptor = Objects.requireNonNull(acceptor, "acceptor");
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (asked) {
            held.add(msg);
            return;
        }
        if (!(msg instanceof Http2HeadersFrame first)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        asked = true;
        ctx.channel().config().setAutoRead(false); // until the answer: what is held stays within the stream window
        Http2Headers h = first.headers();
        ConnectIpRequestCheck.Result checked = ConnectIpRequestCheck.check(name -> h.get(name));
        if (checked.problem() == null && first.isEndStream()) {
            checked = new ConnectIpRequestCheck.Result(null, new ConnectIpRequestCheck.Problem(400,
                    "CONNECT-IP: the HEADERS ended the stream, so it could carry nothing"));
        }
        if (checked.problem() != null) {
            LOG.debug("{}: refused a request: {}", ctx.channel(), checked.problem().message());
            refuse(ctx, checked.problem().status(), Reasons.MALFORMED.code(), checked.problem().message());
            return;
        }
        Optional<ClientIdentity> device = ClientIdentity.of(ctx.channel());
        if (device.isEmpty()) { // the tunnel listener admits connections without a certificate (enrollment)
            refuse(ctx, 403, Reasons.CLIENT_CERT_REQUIRED.code(), "CONNECT-IP: expected a device certificate, found none");
            return;
        }
        InetSocketAddress source = Objects.requireNonNull(ClientAddress.of(ctx.channel()), "an HTTP/2 stream has an IP peer");
        acceptor.onRequest(new ConnectIpRequest(device.get(), source, IpLink.H2, checked.path(),
                h.authority().toString(), ctx.channel().parent(),
                "?1".contentEquals(Objects.requireNonNullElse(h.get(ConnectIpRequest.FULL_TUNNEL), "")), new Answer(ctx)));
    }

    private void refuse(ChannelHandlerContext ctx, int status, String reason, String message) {
        held.release();
        ctx.channel().config().setAutoRead(false);
        Http2Headers headers = new DefaultHttp2Headers().status(Integer.toString(status))
                .set("content-type", "text/plain; charset=utf-8")
                .set(HttpReplies.REASON_HEADER.toLowerCase(Locale.ROOT), reason);
        ctx.write(new DefaultHttp2HeadersFrame(headers, false));
        ctx.writeAndFlush(new DefaultHttp2DataFrame(ByteBufUtil.writeUtf8(ctx.alloc(), message + "\n"), true))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        held.release();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        held.release();
    }

    /** The acceptor's answer, moved onto the stream's event loop. */
    private final class Answer extends EventLoopAnswer {
        Answer(ChannelHandlerContext ctx) {
            super(ctx, held);
        }

        @Override
        protected void answerOk(Map<String, String> extra) {
            DefaultHttp2Headers headers = new DefaultHttp2Headers();
            headers.status("200").set(H3ConnectIpHandler.CAPSULE_PROTOCOL, "?1");
            extra.forEach(headers::set);
            ctx.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false));
        }

        @Override
        protected IpLink openLink() {
            return H2IpLink.open((Http2StreamChannel) ctx.channel());
        }

        @Override
        protected void refuseNow(int status, String reasonCode, String message) {
            H2ConnectIpHandler.this.refuse(ctx, status, reasonCode, message);
        }
    }
}
