package org.postern.gateway.relay;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpObjectEncoder;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.gate.GateDecision;
import org.postern.protocol.http.HttpReplies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP/1.1: the answer is {@code 200 Connection Established}, then the connection is the tunnel.
 *
 * <p>Every byte the client sent after the CONNECT's head belongs to the tunnel (RFC 9110 §9.3.6:
 * a CONNECT has no content), also bytes that came in the same read as the head. So the CONNECT is
 * <em>taken</em> ({@link #take}) the moment its head is decoded: the HTTP decoder leaves the
 * pipeline at once — it decodes nothing more on this connection, neither a pipelined request nor a
 * second CONNECT — and a {@link Hold} in its place keeps what it had not decoded and what arrives
 * while the gate decides and the outbound connection opens (little: the connection stops reading).
 * Accepted, the held bytes go to the admin host first, in order, then the relay reads on. Refused,
 * the answer says {@code Connection: close} and the connection closes: what followed the CONNECT
 * was meant for a tunnel, and is never read as requests.
 */
final class Http1Framing implements ConnectFraming {

    private static final Logger LOG = LoggerFactory.getLogger(Http1Framing.class);
    private static final HttpResponseStatus ESTABLISHED = new HttpResponseStatus(200, "Connection Established");
    /** Set on a connection once a CONNECT was taken: no HTTP message is handled on it any more. */
    static final AttributeKey<Boolean> TAKEN = AttributeKey.valueOf(Http1Framing.class, "taken");
    /** The pipeline name of the {@link Hold}. */
    static final String HOLD = "connectHold";
    /**
     * What a hold keeps at most. With the connection not reading it holds what one read brought
     * (a read buffer, a TLS record or two); beyond this something reads regardless, and the
     * connection closes.
     */
    static final int MAX_HELD = 1 << 20;

    private final ChannelHandler handler;
    private final RelaySettings settings;
    private final FullHttpRequest req;

    /** {@code handler} is the CONNECT handler in the pipeline, which leaves it with the HTTP stages. */
    private Http1Framing(ChannelHandler handler, RelaySettings settings, FullHttpRequest req) {
        this.handler = handler;
        this.settings = settings;
        this.req = req;
    }

    /**
     * Takes the CONNECT whose {@code head} was just decoded on {@code ctx}'s connection, on the
     * event loop, before the decoder goes on: stops reading, puts a {@link Hold} right behind the
     * HTTP decoder and takes the decoder out (what it had not decoded goes to the hold). The
     * caller releases {@code head}.
     *
     * @return the framing for the answers, or null when the pipeline has no HTTP/1.1 decoder to
     *         take out (the CONNECT cannot be framed safely: the caller closes the connection)
     */
    static @Nullable Http1Framing take(ChannelHandlerContext ctx, ChannelHandler handler, RelaySettings settings,
                                       HttpRequest head) {
        Channel ch = ctx.channel();
        ch.attr(TAKEN).set(Boolean.TRUE);
        ch.config().setAutoRead(false);
        if (!stopDecoding(ch.pipeline())) {
            return null;
        }
        FullHttpRequest req = new DefaultFullHttpRequest(head.protocolVersion(), head.method(), head.uri(),
                Unpooled.EMPTY_BUFFER, head.headers().copy(), EmptyHttpHeaders.INSTANCE);
        return new Http1Framing(handler, settings, req);
    }

    /** Whether a CONNECT was taken on this connection ({@link #take}). */
    static boolean taken(Channel ch) {
        return Boolean.TRUE.equals(ch.attr(TAKEN).get());
    }

    /** Puts a hold behind the request decoder and takes the decoder out; false if there is none. */
    private static boolean stopDecoding(ChannelPipeline p) {
        ChannelHandlerContext codec = p.context(HttpServerCodec.class);
        if (codec != null) {
            p.addAfter(codec.name(), HOLD, new Hold());
            // the encoder stays for the answer; the decoder's undecoded input goes to the hold
            ((HttpServerCodec) codec.handler()).removeInboundHandler();
            return true;
        }
        ChannelHandlerContext decoder = p.context(HttpObjectDecoder.class);
        if (decoder != null) {
            p.addAfter(decoder.name(), HOLD, new Hold());
            p.remove(decoder.handler());
            return true;
        }
        return false;
    }

    /**
     * Why {@code head} is not a CONNECT without content (RFC 9110 §9.3.6), or null if it is one:
     * a {@code Transfer-Encoding}, or a {@code Content-Length} other than 0. Such a request is
     * refused, never read on: a body would be bytes the tunnel and the HTTP parser disagree about.
     */
    static @Nullable String body(HttpRequest head) {
        if (head.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            return "CONNECT: expected no content (RFC 9110 section 9.3.6), found Transfer-Encoding: "
                    + cap(String.join(", ", head.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING)));
        }
        List<String> lengths = head.headers().getAll(HttpHeaderNames.CONTENT_LENGTH);
        for (String length : lengths) {
            if (!isZero(length)) {
                return "CONNECT: expected no content (RFC 9110 section 9.3.6), found Content-Length: "
                        + cap(String.join(", ", lengths));
            }
        }
        if (head instanceof FullHttpRequest full && full.content().isReadable()) {
            return "CONNECT: expected no content (RFC 9110 section 9.3.6), found " + full.content().readableBytes()
                    + " bytes";
        }
        return null;
    }

    private static boolean isZero(String length) {
        String s = length.strip();
        if (s.isEmpty() || s.length() > 19) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) != '0') {
                return false;
            }
        }
        return true;
    }

    /** Peer text in a detail: at most 64 characters. */
    private static String cap(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }

    @Override
    public String authority() {
        return req.uri();
    }

    @Override
    public void refuse(ChannelHandlerContext ctx, GateDecision.Refusal r) {
        try {
            FullHttpResponse res = HttpReplies.refusal(HttpResponseStatus.valueOf(r.httpStatus()), r.code(), r.message());
            HttpUtil.setContentLength(res, res.content().readableBytes());
            if (r.remedy() != null) {
                res.headers().set(HttpReplies.REMEDY_HEADER, r.remedy());
            }
            // what followed the CONNECT was meant for a tunnel: nothing more is read on this connection
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        } finally {
            req.release();
        }
    }

    @Override
    public void established(ChannelHandlerContext ctx, Flow flow, Channel server) {
        req.release();
        Channel client = ctx.channel();
        // the 200 carries no Content-Length: HttpServerCodec strips it for a successful CONNECT
        DefaultFullHttpResponse ok = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, ESTABLISHED);
        String lead = flow.windowWarning();
        if (lead != null) { // the gateway will end it at its window's end: the agent warns its user
            ok.headers().set(Flow.WINDOW_END_HEADER, flow.until.toString());
            ok.headers().set(Flow.WINDOW_WARNING_HEADER, lead);
        }
        ctx.writeAndFlush(ok)
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        flow.close(FlowEnd.ERROR);
                        return;
                    }
                    ChannelHandlerContext holdCtx = client.pipeline().context(HOLD);
                    if (holdCtx == null) { // the connection closed as the 200 went out
                        flow.close(FlowEnd.CLIENT_CLOSED);
                        return;
                    }
                    try {
                        startRelay(client.pipeline(), holdCtx, flow, server);
                    } catch (RuntimeException e) { // never a flow left open that nothing relays
                        LOG.warn("{}: the relay could not start: {}", flow, e.toString());
                        flow.close(FlowEnd.ERROR);
                    }
                });
    }

    /**
     * After the 200: the relay behind the hold, the held bytes to it, then the HTTP stages go, then
     * the admin host's side hands over to its relay.
     */
    private void startRelay(ChannelPipeline p, ChannelHandlerContext holdCtx, Flow flow, Channel server) {
        p.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        // the relay goes right behind the hold, so what it held reaches the relay first
        p.addAfter(HOLD, "relayIdle", new IdleStateHandler(0, 0,
                settings.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
        p.addAfter("relayIdle", "relay", new TunnelRelayHandler(flow, TunnelRelayHandler.Side.CLIENT));
        ((Hold) holdCtx.handler()).handOver(holdCtx);
        p.remove(HOLD);
        // a gate decides once: the HTTP stages go
        for (var e : p.toMap().entrySet()) {
            ChannelHandler h = e.getValue();
            if (h == handler || h instanceof HttpServerCodec || h instanceof HttpObjectDecoder
                    || h instanceof HttpObjectEncoder || h instanceof HttpObjectAggregator
                    || h instanceof HttpServerKeepAliveHandler) {
                p.remove(h);
            }
        }
        // last: what the admin host sent early goes to the laptop as tunnel bytes, past no HTTP encoder
        DestinationHoldHandler.handOver(server, new TunnelRelayHandler(flow, TunnelRelayHandler.Side.SERVER));
    }

    @Override
    public void release() {
        req.release();
    }

    /**
     * Keeps the bytes that follow a taken CONNECT, in order, until the tunnel opens
     * ({@link #handOver}); releases them if it does not. Passes no read-complete on, so nothing
     * behind it asks for more input meanwhile.
     */
    static final class Hold extends ChannelInboundHandlerAdapter {
        private final Queue<ByteBuf> held = new ArrayDeque<>();
        private long bytes;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf)) {
                // the CONNECT's empty last content, which the decoder had made before it left: no use
                ReferenceCountUtil.release(msg);
                return;
            }
            bytes += buf.readableBytes();
            if (bytes > MAX_HELD) {
                buf.release();
                releaseHeld();
                ctx.close();
                return;
            }
            held.add(buf);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // held: nobody behind asks for more input
        }

        /** Gives what it held to the handler behind it (the relay), in order. */
        void handOver(ChannelHandlerContext ctx) {
            ByteBuf buf;
            while ((buf = held.poll()) != null) {
                ctx.fireChannelRead(buf);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            releaseHeld();
            ctx.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            releaseHeld();
        }

        private void releaseHeld() {
            ByteBuf buf;
            while ((buf = held.poll()) != null) {
                buf.release();
            }
        }
    }
}
