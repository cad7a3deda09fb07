package org.postern.agent.tunnel;

import java.time.Duration;
import java.time.Instant;
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
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * Relays bytes between a local socket and a CONNECT stream, with backpressure both ways (each side
 * reads on only while the other can take more: towards the gateway that is HTTP/2 flow control and
 * the connection's write buffer, towards the local client the socket's write buffer; it reads again
 * when the other side becomes writable) and half-close both ways (local EOF ends the stream; the
 * gateway's END_STREAM shuts the socket's output). Writes are flushed once per turn of the event
 * loop, not once per chunk: a burst of DATA frames leaves as one socket write, a burst of local
 * reads as full TLS records. Nothing inspects the bytes.
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
        join(local, stream, early, "", "", TunnelEvents.SILENT);
    }

    /**
     * As above, and reports the end ({@link TunnelEvents#closed}) once the stream is gone: bytes
     * each way, duration, and why — the gateway's {@code postern-close} trailer or GOAWAY reason
     * when it sent one ({@link CloseReasons}), else what was seen.
     */
    public static void join(Channel local, Http2StreamChannel stream, List<ByteBuf> early, String via, String destination,
                            TunnelEvents events) {
        local.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        local.config().setAutoRead(false);
        stream.config().setAutoRead(false);
        Tally tally = new Tally(via, destination, events);
        FromGateway down = new FromGateway(local, tally);
        ToGateway up = new ToGateway(stream, tally);
        down.up = up;
        up.down = down;
        stream.pipeline().addLast("relay", down);
        local.pipeline().addLast("relay", up);
        for (ByteBuf b : early) {
            stream.write(new DefaultHttp2DataFrame(b));
        }
        stream.flush();
        local.read();
        stream.read();
    }

    /** What one tunnel carried and how it ended. Each count has one writer (its side's event loop); volatile for the report. */
    private static final class Tally {
        final String via;
        final String destination;
        final TunnelEvents events;
        final long started = System.nanoTime();
        volatile long up;
        volatile long down;
        /** The gateway's reason, or what was seen first: an orderly end from one side, a reset. */
        volatile String reason;
        volatile boolean reported;

        Tally(String via, String destination, TunnelEvents events) {
            this.via = via;
            this.destination = destination;
            this.events = events;
        }

        void firstSeen(String why) {
            if (reason == null) {
                reason = why;
            }
        }

        void report(Channel stream) {
            if (reported) {
                return;
            }
            reported = true;
            String goAway = stream.parent() == null ? null : stream.parent().attr(CloseReasons.CONNECTION).get();
            String why = goAway != null && (reason == null || reason.equals("reset")) ? goAway
                    : reason != null ? reason
                    : stream.parent() != null && !stream.parent().isActive() ? "connection_lost" : "reset";
            events.closed(new TunnelClose(via, destination, up, down, Duration.ofNanos(System.nanoTime() - started), why,
                    Instant.now()));
        }
    }

    /** Local socket → gateway stream. */
    private static final class ToGateway extends ChannelInboundHandlerAdapter {
        private final Http2StreamChannel stream;
        private final Tally tally;
        private final Runnable flush;
        private ChannelHandlerContext ctx;
        private FromGateway down;
        private boolean ended;
        private boolean inputShut;
        private boolean flushScheduled;

        ToGateway(Http2StreamChannel stream, Tally tally) {
            this.stream = stream;
            this.tally = tally;
            this.flush = () -> {
                flushScheduled = false;
                stream.flush();
            };
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
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
            tally.up += buf.readableBytes();
            stream.write(new DefaultHttp2DataFrame(buf)).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    ctx.close();
                }
            });
            if (!flushScheduled) {
                flushScheduled = true;
                ctx.executor().execute(flush);
            }
            readOn();
        }

        /** Reads the local socket again if the stream can take more; else its writability coming back does. */
        void readOn() {
            if (!inputShut && ctx.channel().isActive() && stream.isWritable()) {
                ctx.read();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                down.readOn(); // the local socket drained: more from the gateway
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                inputShut = true;
                tally.firstSeen("client_closed");
                endStream();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // The local client is gone: the gateway gets an orderly end if it still can, then the stream goes.
            if (stream.isActive()) {
                tally.firstSeen("client_closed");
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
        private final Tally tally;
        private final Runnable flush;
        private ChannelHandlerContext ctx;
        private ToGateway up;
        private boolean ended;
        private boolean flushScheduled;

        FromGateway(Channel local, Tally tally) {
            this.local = local;
            this.tally = tally;
            this.flush = () -> {
                flushScheduled = false;
                local.flush();
            };
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        /** Reads the stream again if the local socket can take more; else its writability coming back does. */
        void readOn() {
            if (!ended && ctx.channel().isActive() && local.isWritable()) {
                ctx.read();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                up.readOn(); // the stream can take more: read the local socket on
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2DataFrame data) {
                boolean end = data.isEndStream();
                ByteBuf content = data.content().retain();
                data.release();
                tally.down += content.readableBytes();
                if (end) {
                    tally.firstSeen("server_closed");
                }
                if (!local.isActive()) {
                    content.release();
                    ctx.close();
                    return;
                }
                local.write(content).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        ctx.close();
                    }
                });
                if (end) {
                    shutdownOutput();
                    return;
                }
                if (!flushScheduled) {
                    flushScheduled = true;
                    ctx.executor().execute(flush);
                }
                readOn();
                return;
            }
            if (msg instanceof Http2HeadersFrame h && h.isEndStream()) {
                // trailers end the stream too; the gateway's say why it ended the tunnel
                CharSequence why = h.headers().get(CloseReasons.HEADER);
                if (why != null) {
                    tally.reason = CloseReasons.printable(why.toString());
                } else {
                    tally.firstSeen("server_closed");
                }
                shutdownOutput();
            } else {
                ctx.read();
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame) {
                tally.firstSeen("reset");
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            tally.report(ctx.channel());
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

        /** After what was written (and not yet flushed) went out: the socket's output shuts, or it closes. */
        private void shutdownOutput() {
            ended = true;
            local.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
                if (local instanceof DuplexChannel d && local.isActive()) {
                    d.shutdownOutput();
                } else {
                    local.close();
                }
            });
        }
    }
}
