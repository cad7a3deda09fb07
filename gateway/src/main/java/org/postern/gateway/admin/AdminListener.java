package org.postern.gateway.admin;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditSink;
import org.postern.gateway.metrics.HandshakeMetricsHandler;
import org.postern.net.Transport;
import org.postern.pki.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin listener ({@code listeners.admin}): its own server bootstrap and one small event loop,
 * so admin traffic never waits behind tunnels, and tunnels never behind a scrape.
 */
public final class AdminListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminListener.class);

    private final EventLoopGroup group;
    private final ChannelGroup children;
    private final Channel channel;

    private AdminListener(EventLoopGroup group, ChannelGroup children, Channel channel) {
        this.group = group;
        this.children = children;
        this.channel = channel;
    }

    /**
     * Binds {@code address} and serves the admin API.
     *
     * @param transport the gateway's transport (one for every socket it opens)
     * @param tls       the current admin TLS context, read for each new connection
     */
    public static AdminListener start(Transport transport, InetSocketAddress address, Supplier<SslContext> tls, Registry registry,
                                      AuditSink audit, Clock clock, Executor workers,
                                      AdminApiHandler.Services services, @Nullable ChannelHandler console)
            throws InterruptedException {
        EventLoopGroup group = transport.newGroup(1);
        ChannelGroup children = new DefaultChannelGroup("admin-connections", GlobalEventExecutor.INSTANCE);
        try {
            Channel ch = new ServerBootstrap().group(group).channel(transport.serverChannel())
                    .childHandler(new AdminInitializer(tls, new HandshakeMetricsHandler(services.metrics(), "admin"),
                            registry, audit, clock, workers, new AdminApiHandler(services), console, children))
                    .bind(address).sync().channel();
            InetSocketAddress bound = (InetSocketAddress) ch.localAddress();
            log.info("admin API listening on https://{}:{} (admin client certificate required)", bound.getHostString(),
                    bound.getPort());
            return new AdminListener(group, children, ch);
        } catch (InterruptedException | RuntimeException e) {
            // awaited: a socket bound before the failure is free again when the start reports it (on epoll and
            // io_uring the close completes on the event loop, after this thread would have returned)
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        children.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
