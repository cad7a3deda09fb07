package org.postern.agent.socks;

import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.socksx.v5.DefaultSocks5CommandResponse;
import io.netty.handler.codec.socksx.v5.DefaultSocks5InitialResponse;
import io.netty.handler.codec.socksx.v5.Socks5AddressType;
import io.netty.handler.codec.socksx.v5.Socks5AuthMethod;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequest;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.codec.socksx.v5.Socks5CommandType;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequest;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5ServerEncoder;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import org.postern.agent.tunnel.TunnelEvents;
import org.postern.agent.tunnel.TunnelRefusedException;
import org.postern.agent.tunnel.TunnelRelay;
import org.postern.agent.tunnel.Tunnels;

/**
 * The SOCKS5 side of {@code postern-agent up} (RFC 1928): the no-authentication method only (the
 * listener is on loopback), the CONNECT command only, with IPv4, IPv6 and domain-name destinations
 * passed to the gateway as written (the gateway resolves names, so its policy sees them). The
 * gateway's answer becomes the reply code ({@link #replyFor}); a malformed greeting or request
 * closes the connection without a word. Netty's SOCKS codec does the wire format.
 */
public final class Socks5ServerHandler extends ChannelInboundHandlerAdapter {
    /** Bytes a client may send after its CONNECT request, before the reply, that are kept for the tunnel. */
    static final int MAX_EARLY_BYTES = 64 * 1024;

    private final Tunnels tunnels;
    private final TunnelEvents events;
    private final List<ByteBuf> early = new ArrayList<>();
    private int earlyBytes;
    private boolean connecting;

    Socks5ServerHandler(Tunnels tunnels, TunnelEvents events) {
        this.tunnels = tunnels;
        this.events = events;
    }

    /** Sets up a freshly accepted connection for SOCKS5. */
    public static void install(ChannelPipeline p, Tunnels tunnels, TunnelEvents events) {
        p.addLast("socks-encoder", Socks5ServerEncoder.DEFAULT);
        p.addLast("socks-decoder", new Socks5InitialRequestDecoder());
        p.addLast("socks", new Socks5ServerHandler(tunnels, events));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (msg) {
            case Socks5InitialRequest greeting -> greet(ctx, greeting);
            case Socks5CommandRequest request -> command(ctx, request);
            case ByteBuf bytes when connecting -> keep(ctx, bytes);
            default -> {
                ReferenceCountUtil.release(msg);
                ctx.close();
            }
        }
    }

    private void greet(ChannelHandlerContext ctx, Socks5InitialRequest greeting) {
        if (greeting.decoderResult().isFailure()) {
            ctx.close(); // not SOCKS5: nothing sensible to answer
            return;
        }
        if (!greeting.authMethods().contains(Socks5AuthMethod.NO_AUTH)) {
            ctx.writeAndFlush(new DefaultSocks5InitialResponse(Socks5AuthMethod.UNACCEPTED))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.pipeline().replace("socks-decoder", "socks-decoder", new Socks5CommandRequestDecoder());
        ctx.writeAndFlush(new DefaultSocks5InitialResponse(Socks5AuthMethod.NO_AUTH));
    }

    private void command(ChannelHandlerContext ctx, Socks5CommandRequest request) {
        if (request.decoderResult().isFailure()) {
            ctx.close();
            return;
        }
        if (!request.type().equals(Socks5CommandType.CONNECT)) {
            reply(ctx, Socks5CommandStatus.COMMAND_UNSUPPORTED).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        connecting = true;
        ctx.channel().config().setAutoRead(false); // nothing more is read until the tunnel is up
        String host = request.dstAddr();
        int port = request.dstPort();
        String destination = org.postern.agent.tunnel.ConnectStreamHandler.authority(host, port);
        String via = "SOCKS5 from " + ctx.channel().remoteAddress();
        tunnels.open(host, port).addListener((Future<Http2StreamChannel> f) -> {
            if (!f.isSuccess()) {
                events.refused(via, destination, f.cause());
                releaseEarly();
                reply(ctx, replyFor(f.cause())).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            Http2StreamChannel stream = f.getNow();
            if (!ctx.channel().isActive()) {
                releaseEarly();
                stream.close();
                return;
            }
            events.opened(via, destination);
            reply(ctx, Socks5CommandStatus.SUCCESS).addListener((ChannelFutureListener) w -> {
                if (!w.isSuccess()) {
                    releaseEarly();
                    stream.close();
                    ctx.close();
                    return;
                }
                ChannelPipeline p = ctx.pipeline();
                p.remove("socks-encoder");
                p.remove("socks-decoder"); // hands on what it still held, which joins `early`
                List<ByteBuf> first = List.copyOf(early);
                early.clear();
                p.remove(this);
                TunnelRelay.join(ctx.channel(), stream, first, via, destination, events);
            });
        });
    }

    private void keep(ChannelHandlerContext ctx, ByteBuf bytes) {
        earlyBytes += bytes.readableBytes();
        if (earlyBytes > MAX_EARLY_BYTES) {
            bytes.release();
            releaseEarly();
            ctx.close();
            return;
        }
        early.add(bytes);
    }

    private void releaseEarly() {
        early.forEach(ReferenceCountUtil::release);
        early.clear();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseEarly();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    private static io.netty.channel.ChannelFuture reply(ChannelHandlerContext ctx, Socks5CommandStatus status) {
        // The bound address is not meaningful through a gateway; 0.0.0.0:0 as RFC 1928 allows.
        return ctx.writeAndFlush(new DefaultSocks5CommandResponse(status, Socks5AddressType.IPv4, "0.0.0.0", 0));
    }

    /**
     * The reply code for a tunnel that was not opened: 0x02 not allowed (the gateway's 403),
     * 0x04 host unreachable and 0x05 connection refused (its 502), 0x01 general failure when the
     * agent has no session or anything else went wrong.
     */
    static Socks5CommandStatus replyFor(Throwable cause) {
        if (!(cause instanceof TunnelRefusedException r)) {
            return Socks5CommandStatus.FAILURE;
        }
        return switch (r.kind()) {
            case NOT_ALLOWED -> Socks5CommandStatus.FORBIDDEN;
            case HOST_UNREACHABLE -> Socks5CommandStatus.HOST_UNREACHABLE;
            case CONNECTION_REFUSED -> Socks5CommandStatus.CONNECTION_REFUSED;
            case NO_SESSION, FAILED -> Socks5CommandStatus.FAILURE;
        };
    }
}
