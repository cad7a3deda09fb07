package org.postern.gateway.relay;

import java.net.InetAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import org.postern.net.Transport;

/**
 * An HTTP/2 laptop for relay tests that move too much for the Python client: one cleartext
 * (prior knowledge) connection to a {@link RelayFixture#h2} listener, CONNECT streams that send a
 * seeded byte stream under flow control and take the SHA-256 of what they send and receive. Large
 * windows (16 MiB per stream and per connection), as the agent grants.
 */
final class H2TunnelClient implements AutoCloseable {

    static final int WINDOW = 16 << 20;
    private static final int FRAME = 16 * 1024;

    private final EventLoopGroup group;
    private final Channel connection;

    H2TunnelClient(Transport transport, int port) throws Exception {
        group = transport.newGroup(1);
        Http2FrameCodec codec = Http2FrameCodecBuilder.forClient()
                .initialSettings(Http2Settings.defaultSettings().pushEnabled(false).initialWindowSize(WINDOW)).build();
        connection = new Bootstrap().group(group).channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(codec, new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
        connection.eventLoop().submit(() -> {
            var local = codec.connection().local().flowController();
            local.incrementWindowSize(codec.connection().connectionStream(),
                    WINDOW - local.initialWindowSize(codec.connection().connectionStream()));
            return null;
        }).get(5, TimeUnit.SECONDS);
    }

    /** Opens a CONNECT stream to {@code authority}; its {@link Tunnel#status} completes with the answer. */
    Tunnel open(String authority) throws InterruptedException {
        return open(authority, false);
    }

    /** As {@link #open(String)}; with {@code neverRead} the stream reads nothing after the 200. */
    Tunnel open(String authority, boolean neverRead) throws InterruptedException {
        Tunnel t = new Tunnel();
        t.stopReadingAfterStatus = neverRead;
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).handler(t).open().sync().getNow();
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("CONNECT").authority(authority),
                false));
        return t;
    }

    /** The TCP connection under the streams. */
    Channel connection() {
        return connection;
    }

    @Override
    public void close() throws InterruptedException {
        connection.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One CONNECT stream: what it sent and received (count and SHA-256), how it ended. */
    static final class Tunnel extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Integer> status = new CompletableFuture<>();
        /** The answer's headers (the 200 or the refusal), once it came. */
        final CompletableFuture<io.netty.handler.codec.http2.Http2Headers> answer = new CompletableFuture<>();
        /** Completes with the received bytes' SHA-256 at END_STREAM, or with {@code reset:<code>}. */
        final CompletableFuture<String> end = new CompletableFuture<>();
        final CompletableFuture<String> sent = new CompletableFuture<>();
        private final MessageDigest in = sha256();
        private final MessageDigest out = sha256();
        private volatile long received;
        private Channel stream;
        private long toSend = -1;
        private SplittableRandom source;
        private boolean endAfter;
        /** Set before the answer: the stream stops reading at the 200, so it gives no window back. */
        volatile boolean stopReadingAfterStatus;

        /** Bytes received so far. */
        long received() {
            return received;
        }

        /**
         * Sends {@code bytes} of the stream seeded {@code seed} as fast as flow control allows,
         * then END_STREAM if {@code end}; {@link #sent} completes with their SHA-256.
         */
        void send(long bytes, long seed, boolean end) {
            stream.eventLoop().execute(() -> {
                toSend = bytes;
                source = new SplittableRandom(seed);
                endAfter = end;
                pump();
            });
        }

        /** Resets the stream (RST_STREAM CANCEL), as a laptop whose application went away. */
        void reset() {
            stream.eventLoop().execute(() -> stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)));
        }

        private void pump() {
            if (toSend < 0) {
                return;
            }
            boolean wrote = false;
            int frames = 0;
            while (toSend > 0 && stream.isWritable() && frames++ < 64) { // a bounded turn: others share the loop
                int n = (int) Math.min(FRAME, toSend);
                byte[] chunk = new byte[n];
                source.nextBytes(chunk);
                out.update(chunk);
                toSend -= n;
                stream.write(new DefaultHttp2DataFrame(stream.alloc().buffer(n).writeBytes(chunk), false));
                wrote = true;
            }
            if (toSend == 0) {
                toSend = -1;
                if (endAfter) {
                    stream.write(new DefaultHttp2DataFrame(true));
                }
                sent.complete(HexFormat.of().formatHex(out.digest()));
                wrote = true;
            }
            if (wrote) {
                stream.flush();
            }
            if (toSend > 0 && stream.isWritable()) {
                stream.eventLoop().execute(this::pump);
            }
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            stream = ctx.channel();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            pump();
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame h) {
                    if (!status.isDone()) {
                        if (stopReadingAfterStatus) {
                            ctx.channel().config().setAutoRead(false); // on the loop, before any DATA is read
                        }
                        answer.complete(h.headers());
                        status.complete(Integer.parseInt(h.headers().status().toString()));
                    }
                    if (h.isEndStream()) {
                        end.complete(HexFormat.of().formatHex(in.digest()));
                    }
                } else if (msg instanceof Http2DataFrame d) {
                    ByteBuf b = d.content();
                    received += b.readableBytes();
                    in.update(b.nioBuffer());
                    if (d.isEndStream()) {
                        end.complete(HexFormat.of().formatHex(in.digest()));
                    }
                } else if (msg instanceof Http2ResetFrame r) {
                    end.complete("reset:" + r.errorCode());
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame r) {
                end.complete("reset:" + r.errorCode());
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            end.complete("closed");
            status.complete(-1);
        }
    }
}
