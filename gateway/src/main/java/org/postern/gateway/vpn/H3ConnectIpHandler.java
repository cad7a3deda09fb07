package org.postern.gateway.vpn;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http3.DefaultHttp3DataFrame;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3RequestStreamInboundHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.HttpReplies;
import org.postern.vpn.transport.H3IpLink;
import org.postern.vpn.transport.IpLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of every HTTP/3 request stream on the VPN listener. It reads the first
 * HEADERS once: a well-formed CONNECT-IP ({@link ConnectIpRequestCheck}) goes to the
 * {@link ConnectIpAcceptor}, anything else is answered with its status and
 * {@code postern-reason: connect.malformed} and the stream ends — the acceptor never sees it.
 * While the acceptor decides, nothing is read and what arrived is held; on accept the held DATA
 * goes to the new {@link H3IpLink} and this handler steps out.
 */
final class H3ConnectIpHandler extends Http3RequestStreamInboundHandler {
    private static final Logger LOG = LoggerFactory.getLogger(H3ConnectIpHandler.class);
    static final String CAPSULE_PROTOCOL = "capsule-protocol";

    private final ConnectIpAcceptor acceptor;
    private final HeldMessages held = new HeldMessages();
    private boolean asked;

    H3ConnectIpHandler(ConnectIpAcceptor acceptor) {
        this.acceptor = Objects.requireNonNull(acceptor, "acceptor");
    }

    @Override
    protected void channelRead(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
        if (asked) { // trailers or a second HEADERS before the answer: nothing a tunnel carries
            return;
        }
        asked = true;
        ctx.channel().config().setAutoRead(false);
        Http3Headers h = frame.headers();
        ConnectIpRequestCheck.Result checked = ConnectIpRequestCheck.check(name -> h.get(name));
        QuicStreamChannel stream = (QuicStreamChannel) ctx.channel();
        QuicChannel connection = stream.parent();
        if (checked.problem() != null) {
            LOG.debug("{}: refused a request: {}", connection, checked.problem().message());
            answerRefusal(ctx, checked.problem().status(), Reasons.MALFORMED.code(), checked.problem().message());
            return;
        }
        ClientIdentity device = ClientIdentity.of(connection).orElseThrow(() -> new IllegalStateException(
                "QUIC connection " + connection + " has no device identity (the listener sets it after the handshake)"));
        InetSocketAddress source = (InetSocketAddress) connection.remoteSocketAddress();
        acceptor.onRequest(new ConnectIpRequest(device, source, IpLink.H3, checked.path(),
                h.authority().toString(), connection,
                "?1".contentEquals(Objects.requireNonNullElse(h.get(ConnectIpRequest.FULL_TUNNEL), "")), new Answer(ctx)));
    }

    @Override
    protected void channelRead(ChannelHandlerContext ctx, Http3DataFrame frame) {
        if (asked) {
            held.add(frame);
        } else {
            frame.release(); // DATA before any HEADERS: the codec refuses that; never reached
        }
    }

    @Override
    protected void channelInputClosed(ChannelHandlerContext ctx) {
        if (!asked) {
            ctx.close();
        }
        // else: the answer (or the link) sees the stream end
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

    private void answerRefusal(ChannelHandlerContext ctx, int status, String reason, String message) {
        held.release();
        Http3Headers headers = new DefaultHttp3Headers().status(Integer.toString(status))
                .set("content-type", "text/plain; charset=utf-8")
                .set(HttpReplies.REASON_HEADER.toLowerCase(Locale.ROOT), reason);
        ctx.write(new DefaultHttp3HeadersFrame(headers));
        ctx.writeAndFlush(new DefaultHttp3DataFrame(Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8)))
                .addListener(QuicStreamChannel.SHUTDOWN_OUTPUT).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    /** The acceptor's answer, moved onto the stream's event loop. */
    private final class Answer extends EventLoopAnswer {
        Answer(ChannelHandlerContext ctx) {
            super(ctx, held);
        }

        @Override
        protected void answerOk(Map<String, String> extra) {
            DefaultHttp3Headers headers = new DefaultHttp3Headers();
            headers.status("200").set(CAPSULE_PROTOCOL, "?1");
            extra.forEach(headers::set);
            ctx.writeAndFlush(new DefaultHttp3HeadersFrame(headers));
        }

        @Override
        protected IpLink openLink() {
            return H3IpLink.open((QuicStreamChannel) ctx.channel());
        }

        @Override
        protected void refuseNow(int status, String reasonCode, String message) {
            answerRefusal(ctx, status, reasonCode, message);
        }
    }
}
