package org.postern.agent.tunnel;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * Relays bytes between a local socket and a CONNECT stream, with backpressure both ways (each side
 * reads again only once its last write went out: towards the gateway that is HTTP/2 flow control,
 * towards the local client it is the socket's buffer) and half-close both ways (local EOF ends the
 * stream; the gateway's END_STREAM shuts the socket's output). Nothing inspects the bytes.
 */
public final class TunnelRelay {
    private TunnelRelay() {
    }

    /**
     * Joins {@code local} (a socket, not reading by itself, half-closure allowed) and {@code stream}
     * (answered 200). {@code early} are bytes the local client sent before the tunnel was up; they
     * go first.
     */
    public static void join(Channel local, Http2StreamChannel stream, List<ByteBuf> early) {
        local.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        local.config().setAutoRead(false);
        stream.config().setAutoRead(false);
        stream.pipeline().addLast("relay", new FromGateway(local));
        local.pipeline().addLast("relay", new ToGateway(stream));
        for (ByteBuf b : early) {
            stream.write(new DefaultHttp2DataFrame(b));
        }
        stream.flush();
        local.read();
        stream.read();
    }

    /** Local socket → gateway stream. */
    private static final class ToGateway extends ChannelInboundHandlerAdapter {
        private final Http2StreamChannel stream;
        private boolean ended;

        ToGateway(Http2StreamChannel stream) {
            this.stream = stream;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf)) {
                ReferenceCountUtil.release(msg);
                ctx.read();
                return;
            }
            if (!stream.isActive()) {
                buf.release();
                ctx.close();
                return;
            }
            stream.writeAndFlush(new DefaultHttp2DataFrame(buf)).addListener((ChannelFutureListener) f -> {
                if (f.isSuccess()) {
                    ctx.read();
                } else {
                    ctx.close();
                }
            });
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                endStream();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // The local client is gone: the gateway gets an orderly end if it still can, then the stream goes.
            if (stream.isActive()) {
                if (!ended) {
                    ended = true;
                    stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true))
                            .addListener(ChannelFutureListener.CLOSE);
                } else {
                    stream.close();
                }
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private void endStream() {
            if (!ended && stream.isActive()) {
                ended = true;
                stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
            }
        }
    }

    /** Gateway stream → local socket. */
    private static final class FromGateway extends ChannelInboundHandlerAdapter {
        private final Channel local;

        FromGateway(Channel local) {
            this.local = local;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2DataFrame data) {
                boolean end = data.isEndStream();
                ByteBuf content = data.content().retain();
                data.release();
                if (!local.isActive()) {
                    content.release();
                    ctx.close();
                    return;
                }
                local.writeAndFlush(content).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        ctx.close();
                    } else if (end) {
                        shutdownOutput();
                    } else {
                        ctx.read();
                    }
                });
                return;
            }
            if (msg instanceof Http2HeadersFrame h && h.isEndStream()) {
                shutdownOutput(); // trailers end the stream too
            } else {
                ctx.read();
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Reset, or both sides ended: the local socket closes once what was written went out.
            if (local.isActive()) {
                local.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private void shutdownOutput() {
            if (local instanceof DuplexChannel d && local.isActive()) {
                d.shutdownOutput();
            } else {
                local.close();
            }
        }
    }
}
