package org.postern.bench.tunnel;

import java.net.InetSocketAddress;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * The destination of {@link LaptopLoad}: greets each connection with one byte ({@link #HELLO}: the
 * whole path is up), counts what it sends and, when the sender half-closes (its last byte, TCP
 * FIN), answers the count as 8 bytes (big-endian) and closes. The
 * count comes from the receiving end, so bytes still queued in a socket or a relay when the
 * sender stops are not counted as delivered (as iperf3 reports the receiver's figure).
 *
 * <p>Usage: {@code CountingSink PORT}; prints {@code sink ready} and runs until killed.
 */
public final class CountingSink {
    /** The greeting: a tunnel is ready when this byte came through it. */
    static final byte HELLO = 'h';

    private CountingSink() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: CountingSink PORT");
        }
        int port = Integer.parseInt(args[0]);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new CountHandler());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
        System.out.println("sink ready on " + server.localAddress());
        System.out.flush();
        server.closeFuture().sync();
    }

    /** One connection: count, and answer the count once the sender is done. */
    static final class CountHandler extends ChannelInboundHandlerAdapter {
        private long received;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte(HELLO));
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                received += b.readableBytes();
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ByteBuf count = ctx.alloc().buffer(Long.BYTES).writeLong(received);
                ctx.writeAndFlush(count).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // the sender sees the close without a count and reports it
        }
    }
}
