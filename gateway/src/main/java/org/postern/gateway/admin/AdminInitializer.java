package org.postern.gateway.admin;

import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditSink;
import org.postern.pki.registry.Registry;

/**
 * The admin listener's pipeline, one stage per line (docs/gateway.md, "Admin API").
 */
final class AdminInitializer extends ChannelInitializer<SocketChannel> {
    /** Admin requests are small: a request head, no body to speak of. */
    static final int MAX_HEADER = 8192;
    /** Admin requests are small; the console's policy draft is the largest (docs/console.md). */
    static final int MAX_BODY = 96 * 1024;
    static final long IDLE_SECONDS = 60;

    private final Supplier<SslContext> tls;
    private final ChannelHandler handshakeMetrics;
    private final Registry registry;
    private final AuditSink audit;
    private final Clock clock;
    private final Executor workers;
    private final AdminApiHandler api;
    private final @Nullable ChannelHandler console;
    private final ChannelGroup children;

    AdminInitializer(Supplier<SslContext> tls, ChannelHandler handshakeMetrics, Registry registry, AuditSink audit,
                     Clock clock, Executor workers, AdminApiHandler api, @Nullable ChannelHandler console, ChannelGroup children) {
        this.tls = tls;
        this.handshakeMetrics = handshakeMetrics;
        this.registry = registry;
        this.audit = audit;
        this.clock = clock;
        this.workers = workers;
        this.api = api;
        this.console = console;
        this.children = children;
    }

    @Override
    protected void initChannel(SocketChannel c) {
        children.add(c);
        ChannelPipeline p = c.pipeline();
        // an admin connection idle for a minute is closed
        p.addLast("idle", new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS) {
            @Override
            protected void channelIdle(io.netty.channel.ChannelHandlerContext ctx, IdleStateEvent evt) {
                ctx.close();
            }
        });
        // TLS 1.3 with an admin client certificate required (the current context: a reload swaps it)
        p.addLast("tls", tls.get().newHandler(c.alloc()));
        // count the handshake, done or failed by cause
        p.addLast("tlsMetrics", handshakeMetrics);
        // which admin: role URI, registry says admin and good; else every request gets 403
        p.addLast("identity", new AdminIdentityHandler(registry, audit, clock, workers));
        // HTTP/1.1, small bounded requests, keep-alive
        p.addLast("http", new HttpServerCodec(4096, MAX_HEADER, 8192));
        p.addLast("keepAlive", new HttpServerKeepAliveHandler());
        p.addLast("aggregate", new HttpObjectAggregator(MAX_BODY));
        // the web console: / and /console/..., the rest goes on (docs/console.md)
        if (console != null) {
            p.addLast("console", console);
        }
        // the JSON API and /metrics
        p.addLast("api", api);
    }
}
