package org.postern.bench.tunnel;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * A laptop whose tunnels are plain TCP connections to a local entry, e.g. a stunnel client service
 * that wraps each in its own mutual-TLS connection: the baseline a user would otherwise run.
 */
final class TcpLaptop implements Laptop {
    private final String name;
    private final EventLoopGroup group;
    private final InetSocketAddress entry;
    private final ByteBuf chunk;
    private final List<Channel> channels = new ArrayList<>();

    TcpLaptop(String name, EventLoopGroup group, InetSocketAddress entry, ByteBuf chunk) {
        this.name = name;
        this.group = group;
        this.entry = entry;
        this.chunk = chunk;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<PushHandler> open(int streams) throws Exception {
        List<PushHandler> tunnels = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            PushHandler push = new PushHandler(chunk, ctx -> ((SocketChannel) ctx.channel()).shutdownOutput());
            ChannelFuture connected = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                    .handler(push)
                    .connect(entry);
            Laptop.await(connected, 15, name + ": connect to " + entry);
            channels.add(connected.channel());
            tunnels.add(push);
        }
        return tunnels;
    }

    @Override
    public void close() {
        channels.forEach(Channel::close);
    }
}
