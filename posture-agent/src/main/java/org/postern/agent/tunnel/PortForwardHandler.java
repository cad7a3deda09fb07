package org.postern.agent.tunnel;

import java.util.List;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;
import org.postern.config.HostPort;

/**
 * A connection accepted on a forward's {@code listen} address: asks for a tunnel to the forward's
 * {@code to}, and relays once the gateway said yes; a refusal closes the connection (a plain TCP
 * client cannot be told more) and is reported.
 */
public final class PortForwardHandler extends ChannelInboundHandlerAdapter {
    private final HostPort to;
    private final Tunnels tunnels;
    private final TunnelEvents events;

    public PortForwardHandler(HostPort to, Tunnels tunnels, TunnelEvents events) {
        this.to = to;
        this.tunnels = tunnels;
        this.events = events;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.pipeline().remove(this);
        tunnels.open(to.host(), to.port()).addListener((Future<Http2StreamChannel> f) -> {
            if (!f.isSuccess()) {
                events.refused("forward " + ctx.channel().localAddress(), to.toString(), f.cause());
                ctx.close();
            } else if (!ctx.channel().isActive()) {
                f.getNow().close();
            } else {
                events.opened("forward " + ctx.channel().localAddress(), to.toString());
                TunnelRelay.join(ctx.channel(), f.getNow(), List.of(), "forward " + ctx.channel().localAddress(), to.toString(), events);
            }
        });
        ctx.fireChannelActive();
    }
}
