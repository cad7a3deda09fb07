package org.postern.gateway.relay;

import java.util.ArrayDeque;
import java.util.Locale;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.vpn.ConnectIpAcceptor;
import org.postern.gateway.vpn.H2ConnectIpHandler;
import org.postern.protocol.http.HttpReplies;
import org.postern.protocol.Reasons;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of every HTTP/2 stream (a child channel of the connection). It looks at the
 * stream's first HEADERS once:
 *
 * <ul>
 *   <li>{@code :method CONNECT} (RFC 9113 §8.5: {@code :authority host:port}, no {@code :scheme},
 *       no {@code :path}): the same gates as HTTP/1.1 ({@link ConnectHandler#open}); the answer is
 *       a HEADERS frame — {@code 200} without END_STREAM, after which DATA frames are the tunnel
 *       ({@link Http2TunnelCodec} + {@link TunnelRelayHandler}); or a refusal with
 *       {@code postern-reason}, END_STREAM, then RST_STREAM NO_ERROR. A malformed CONNECT gets
 *       {@code 400 connect.malformed} and RST_STREAM PROTOCOL_ERROR.</li>
 *   <li>{@code :method CONNECT} with {@code :protocol connect-ip} (RFC 8441, RFC 9484), when the
 *       VPN mode is on: {@link H2ConnectIpHandler} takes the stream (VPN mode, docs/vpn.md). Any
 *       other {@code :protocol} is refused as malformed.</li>
 *   <li>anything else: {@code requests} adds the ordinary HTTP handlers (the same sharable ones as
 *       on HTTP/1.1) behind this one, and this handler steps out.</li>
 * </ul>
 *
 * <p>Frames the peer sends while the gates run (DATA before the 200) are held — no more than the
 * stream window, as nothing is read meanwhile — and given to the relay, in order.
 */
public final class Http2ConnectHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Http2ConnectHandler.class);
    private static final String PROTOCOL = ":protocol";
    private static final String CONNECT_IP = "connect-ip";

    private final ConnectHandler gate;
    private final Consumer<ChannelPipeline> requests;
    private final @Nullable ConnectIpAcceptor connectIp;
    private final Queue<Object> held = new ArrayDeque<>();
    private final ConnectFraming framing = new StreamFraming();
    private String authority = "";
    private boolean gating;

    /**
     * @param gate     the CONNECT gate shared with HTTP/1.1
     * @param requests adds the handlers of an ordinary request (codec, aggregator, endpoints) to a
     *                 stream's pipeline
     */
    public Http2ConnectHandler(ConnectHandler gate, Consumer<ChannelPipeline> requests) {
        this(gate, requests, null);
    }

    /**
     * @param connectIp decides CONNECT-IP streams (VPN mode); null: the VPN mode is off and
     *                  {@code :protocol connect-ip} is refused as malformed like any other
     */
    public Http2ConnectHandler(ConnectHandler gate, Consumer<ChannelPipeline> requests, @Nullable ConnectIpAcceptor connectIp) {
        this.gate = Objects.requireNonNull(gate, "gate");
        this.requests = Objects.requireNonNull(requests, "requests");
        this.connectIp = connectIp;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (gating) {
            held.add(msg);
            return;
        }
        if (!(msg instanceof Http2HeadersFrame first)
                || !HttpMethod.CONNECT.asciiName().contentEquals(first.headers().method())) {
            // an ordinary request: the HTTP handlers take the stream; a gate decides once
            ChannelPipeline p = ctx.pipeline();
            requests.accept(p);
            p.remove(this);
            ctx.fireChannelRead(msg);
            return;
        }
        if (connectIp != null && CONNECT_IP.contentEquals(String.valueOf(first.headers().get(PROTOCOL)))) {
            // VPN mode (RFC 9484 over RFC 8441): its own checks and acceptor; this handler steps out
            ChannelPipeline p = ctx.pipeline();
            p.addAfter(ctx.name(), "connectIp", new H2ConnectIpHandler(connectIp));
            p.remove(this);
            ctx.fireChannelRead(msg);
            return;
        }
        gating = true;
        Http2Headers h = first.headers();
        authority = h.authority() == null ? "" : h.authority().toString();
        String malformed = malformed(first);
        if (malformed != null) {
            ctx.channel().config().setAutoRead(false);
            gate.refuseNow(ctx, framing, new GateDecision.Refusal(Reasons.MALFORMED, malformed));
        } else {
            gate.open(ctx, framing);
        }
    }

    /** What breaks RFC 9113 §8.5 in this CONNECT, or null. */
    private static @Nullable String malformed(Http2HeadersFrame f) {
        Http2Headers h = f.headers();
        if (h.contains(PROTOCOL)) { // before :path and :scheme, which an extended CONNECT has
            return "HTTP/2 CONNECT: extended CONNECT (:protocol " + AuditEvent.peerText(String.valueOf(h.get(PROTOCOL)))
                    + ") is not supported here (only connect-ip, when the VPN mode is on)";
        }
        if (h.path() != null || h.scheme() != null) {
            return "HTTP/2 CONNECT: expected only :method and :authority (RFC 9113 §8.5), found "
                    + AuditEvent.peerText(h.path() != null ? ":path " + h.path() : ":scheme " + h.scheme());
        }
        if (h.authority() == null || h.authority().isEmpty()) {
            return "HTTP/2 CONNECT: expected :authority host:port, found none";
        }
        if (f.isEndStream()) {
            return "HTTP/2 CONNECT to " + AuditEvent.peerText(h.authority().toString()) + ": the HEADERS ended the stream, so the tunnel could carry nothing";
        }
        return null;
    }

    /** The answers as HEADERS and DATA frames on this stream. */
    private final class StreamFraming implements ConnectFraming {

        @Override
        public String authority() {
            return authority;
        }

        @Override
        public void refuse(ChannelHandlerContext ctx, GateDecision.Refusal r) {
            releaseHeld();
            Http2Headers headers = new DefaultHttp2Headers()
                    .status(HttpResponseStatus.valueOf(r.httpStatus()).codeAsText())
                    .set("content-type", "text/plain; charset=utf-8")
                    .set(HttpReplies.REASON_HEADER.toLowerCase(Locale.ROOT), r.code());
            if (r.remedy() != null) {
                headers.set(HttpReplies.REMEDY_HEADER.toLowerCase(Locale.ROOT), r.remedy());
            }
            ctx.write(new DefaultHttp2HeadersFrame(headers, false));
            Http2Error code = r.reason() == Reasons.MALFORMED ? Http2Error.PROTOCOL_ERROR : Http2Error.NO_ERROR;
            ctx.writeAndFlush(new DefaultHttp2DataFrame(ByteBufUtil.writeUtf8(ctx.alloc(), r.message() + "\n"), true))
                    .addListener((ChannelFutureListener) f -> {
                        // the answer is complete (and sent: a reset would overtake DATA still queued for
                        // flow control): stop the peer sending on this stream (RFC 9113 §8.1)
                        ctx.writeAndFlush(new DefaultHttp2ResetFrame(code)).addListener(ChannelFutureListener.CLOSE);
                    });
        }

        @Override
        public void established(ChannelHandlerContext ctx, Flow flow, Channel server) {
            Channel client = ctx.channel();
            Http2Headers ok = new DefaultHttp2Headers().status("200");
            String lead = flow.windowWarning();
            if (lead != null) { // the gateway will end it at its window's end: the agent warns its user
                ok.set(Flow.WINDOW_END_HEADER.toLowerCase(Locale.ROOT), flow.until.toString());
                ok.set(Flow.WINDOW_WARNING_HEADER.toLowerCase(Locale.ROOT), lead);
            }
            ctx.writeAndFlush(new DefaultHttp2HeadersFrame(ok, false))
                    .addListener((ChannelFutureListener) f -> {
                        if (!f.isSuccess()) {
                            flow.close(FlowEnd.ERROR);
                            return;
                        }
                        if (ctx.isRemoved()) { // the laptop reset the stream as the 200 went out
                            flow.close(FlowEnd.CLIENT_CLOSED);
                            return;
                        }
                        ChannelPipeline p = client.pipeline();
                        // behind this handler, so frames the relay's first read brings queue up after the held ones
                        p.addAfter(ctx.name(), "relayIdle", new IdleStateHandler(0, 0,
                                gate.flows().settings().idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        p.addAfter("relayIdle", "tunnel", new Http2TunnelCodec());
                        p.addAfter("tunnel", "relay", new TunnelRelayHandler(flow, TunnelRelayHandler.Side.CLIENT));
                        DestinationHoldHandler.handOver(server, new TunnelRelayHandler(flow, TunnelRelayHandler.Side.SERVER));
                        gating = false;
                        Object msg;
                        while ((msg = held.poll()) != null) {
                            ctx.fireChannelRead(msg);
                        }
                        if (!ctx.isRemoved()) { // else the stream closed meanwhile; the relay saw it
                            p.remove(Http2ConnectHandler.this);
                        }
                    });
        }

        @Override
        public void release() {
            releaseHeld();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseHeld();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("stream {} ({}) failed before its tunnel started: {}", ctx.channel(), authority, cause.toString());
        ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseHeld();
    }

    private void releaseHeld() {
        Object msg;
        while ((msg = held.poll()) != null) {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public String toString() {
        return "Http2ConnectHandler(" + authority + ")";
    }
}
