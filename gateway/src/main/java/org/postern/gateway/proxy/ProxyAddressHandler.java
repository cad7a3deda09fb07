package org.postern.gateway.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import org.jspecify.annotations.Nullable;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.ClientAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After Netty's decoder on a trusted proxy's connection: takes the client's address from the PROXY
 * v2 header ({@link ClientAddress}), then builds the rest of the connection's pipeline
 * ({@code connection}) and only then tells it the connection is active, so that every later stage
 * — the per-source limit, TLS, the audit records — knows the client, not the proxy. It leaves
 * once it has done so. A {@code LOCAL} header (HAProxy's health check) is closed with a debug line
 * only; no header within {@code headerTime}, or one the decoder refuses or that names no TCP
 * client, is refused and audited. Should building the client's stages fail, the connection is
 * closed all the same (with a warning: the header was good, so there is no refusal to audit).
 */
final class ProxyAddressHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyAddressHandler.class);

    private final ProxyAudit audit;
    private final Duration headerTime;
    private final Consumer<Channel> connection;
    private @Nullable ScheduledFuture<?> timeout;
    private boolean done;

    ProxyAddressHandler(ProxyAudit audit, Duration headerTime, Consumer<Channel> connection) {
        this.audit = audit;
        this.headerTime = headerTime;
        this.connection = connection;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // not passed on: the stages after this one are built when the client is known
        timeout = ctx.executor().schedule(() -> refuse(ctx, Reasons.PROXY_HEADER_TIME,
                "expected a whole PROXY v2 header within proxyProtocol.headerTime (" + headerTime.toMillis()
                        + " ms) of the trusted proxy's connection, found none"), headerTime.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HAProxyMessage header)) {
            ctx.fireChannelRead(msg); // after the header, before this handler has left: the client's bytes
            return;
        }
        try {
            cancelTimeout();
            if (header.command() == HAProxyCommand.LOCAL) {
                done = true;
                LOG.debug("tunnel: {} sent a PROXY LOCAL header (a health check): closed", ClientAddress.source(ctx.channel()));
                ctx.close();
                return;
            }
            InetSocketAddress client = ProxyHeaders.client(header);
            if (client == null) {
                refuse(ctx, Reasons.PROXY_INVALID, ProxyHeaders.problem(header));
                return;
            }
            done = true;
            String proxy = ClientAddress.source(ctx.channel());
            ClientAddress.set(ctx.channel(), client);
            LOG.debug("tunnel: {} through the trusted proxy {}", ClientAddress.format(client), proxy);
            connection.accept(ctx.channel());
            ctx.fireChannelActive(); // to the stages just built
            ctx.pipeline().remove(this);
        } finally {
            header.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // before the client's stages exist: the decoder's refusal, an I/O error of the proxy's connection,
        // or building the client's stages failed (the header was taken: nothing to audit, but closed all the same)
        cancelTimeout();
        if (done) {
            LOG.warn("tunnel: the connection of {} closed: {}", ClientAddress.source(ctx.channel()), cause.toString(), cause);
            ctx.close();
            return;
        }
        if (cause instanceof IOException) {
            LOG.debug("tunnel: the trusted proxy's connection {} failed before its header: {}",
                    ClientAddress.source(ctx.channel()), cause.toString());
            done = true;
            ctx.close();
            return;
        }
        refuse(ctx, Reasons.PROXY_INVALID, "expected a valid PROXY v2 header from the trusted proxy, found one the"
                + " decoder refused: " + cause.getMessage());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimeout();
        ctx.fireChannelInactive();
    }

    private void refuse(ChannelHandlerContext ctx, Reasons reason, String detail) {
        if (done) {
            return;
        }
        done = true;
        ctx.close();
        audit.refused(ClientAddress.source(ctx.channel()), reason, detail);
    }

    private void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }
}
