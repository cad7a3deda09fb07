package org.postern.agent.tunnel;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import org.postern.agent.socks.Socks5ServerHandler;
import org.postern.config.HostPort;
import org.postern.config.agent.AgentSettings;
import org.postern.net.Transport;

/**
 * The local access paths of {@code postern-agent up}: the SOCKS5 listener and the port forwards,
 * each on its loopback address, all opening their tunnels through one {@link Tunnels}.
 */
public final class LocalListeners implements AutoCloseable {
    /** One bound listener: what it is and where it ended up (port 0 binds a free port). */
    public record Bound(String what, InetSocketAddress address) {
    }

    private final List<Channel> channels = new ArrayList<>();
    private final List<Bound> bound = new ArrayList<>();

    private LocalListeners() {
    }

    /**
     * Binds every listener {@code settings} names, or none: a listener that cannot bind closes those
     * already bound and fails with its setting and address named.
     */
    public static LocalListeners bind(AgentSettings settings, EventLoopGroup group, Tunnels tunnels, TunnelEvents events)
            throws IOException {
        LocalListeners l = new LocalListeners();
        try {
            if (settings.socks().enabled()) {
                l.bindOne(group, "socks.listen", "SOCKS5", settings.socks().listen(), new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        Socks5ServerHandler.install(c.pipeline(), tunnels, events);
                    }
                });
            }
            for (int i = 0; i < settings.forwards().size(); i++) {
                AgentSettings.Forward f = settings.forwards().get(i);
                l.bindOne(group, "forwards[" + i + "].listen", "forward to " + f.to(), f.listen(), new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.config().setAutoRead(false);
                        c.pipeline().addLast("forward", new PortForwardHandler(f.to(), tunnels, events));
                    }
                });
            }
        } catch (IOException | RuntimeException e) {
            l.close();
            throw e;
        }
        return l;
    }

    private void bindOne(EventLoopGroup group, String key, String what, HostPort at, ChannelHandler init) throws IOException {
        Channel ch;
        try {
            ch = new ServerBootstrap().group(group).channel(Transport.of(group).serverChannel())
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, TunnelBuffers.ALLOCATOR)
                    .childHandler(init)
                    .bind(at.socketAddress()).syncUninterruptibly().channel();
        } catch (Exception e) {
            throw new IOException(key + ": cannot listen on " + at + ": " + e.getMessage(), e);
        }
        channels.add(ch);
        bound.add(new Bound(what, (InetSocketAddress) ch.localAddress()));
    }

    /** The listeners bound, SOCKS5 first, then the forwards in their order. */
    public List<Bound> bound() {
        return List.copyOf(bound);
    }

    @Override
    public void close() {
        for (Channel c : channels) {
            c.close().syncUninterruptibly();
        }
        channels.clear();
    }
}
