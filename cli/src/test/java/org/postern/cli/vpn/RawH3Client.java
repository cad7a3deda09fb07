package org.postern.cli.vpn;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.DefaultHttp3SettingsFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ClientConnectionHandler;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3RequestStreamInboundHandler;
import io.netty.handler.codec.http3.Http3Settings;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import org.jspecify.annotations.Nullable;

/**
 * A bare HTTP/3 client for what the agent's ConnectIpClient never sends: requests of any form,
 * datagrams with any prefix, a handshake without a client certificate.
 */
final class RawH3Client implements AutoCloseable {
    record Answer(int status, @Nullable String reason, String body) {}

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    final QuicChannel connection;

    /** Connects; {@code key} null presents no client certificate. */
    RawH3Client(InetSocketAddress gateway, X509Certificate trustedRoot, @Nullable PrivateKey key, X509Certificate @Nullable ... chain)
            throws Exception {
        QuicSslContextBuilder b = QuicSslContextBuilder.forClient().trustManager(trustedRoot)
                .applicationProtocols(Http3.supportedApplicationProtocols());
        if (key != null) {
            b.keyManager(key, null, chain);
        }
        QuicSslContext tls = b.build();
        Channel udp = new Bootstrap().group(group).channel(NioDatagramChannel.class)
                .handler(Http3.newQuicClientCodecBuilder().sslContext(tls)
                        .sslEngineProvider(q -> tls.newEngine(q.alloc(), "localhost", gateway.getPort()))
                        .maxIdleTimeout(10, TimeUnit.SECONDS).initialMaxData(1 << 20)
                        .initialMaxStreamDataBidirectionalLocal(1 << 20).datagram(64, 64).build())
                .bind(0).sync().channel();
        connection = QuicChannel.newBootstrap(udp)
                .handler(new Http3ClientConnectionHandler(null, null, null,
                        new DefaultHttp3SettingsFrame(Http3Settings.defaultSettings().enableH3Datagram(true)), true))
                .remoteAddress(gateway).connect().get(5, TimeUnit.SECONDS);
    }

    /** Sends {@code headers} on a new request stream and reads the answer until the stream ends. */
    CompletableFuture<Answer> request(Http3Headers headers) throws Exception {
        CompletableFuture<Answer> answer = new CompletableFuture<>();
        QuicStreamChannel stream = Http3.newRequestStream(connection, new Http3RequestStreamInboundHandler() {
            int status;
            String reason;
            final StringBuilder body = new StringBuilder();

            @Override
            protected void channelRead(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
                status = Integer.parseInt(frame.headers().status().toString());
                CharSequence r = frame.headers().get("postern-reason");
                reason = r == null ? null : r.toString();
                if (status == 200) {
                    answer.complete(new Answer(status, reason, ""));
                }
            }

            @Override
            protected void channelRead(ChannelHandlerContext ctx, Http3DataFrame frame) {
                body.append(frame.content().toString(StandardCharsets.UTF_8));
                frame.release();
            }

            @Override
            protected void channelInputClosed(ChannelHandlerContext ctx) {
                answer.complete(new Answer(status, reason, body.toString()));
            }
        }).get(5, TimeUnit.SECONDS);
        stream.writeAndFlush(new DefaultHttp3HeadersFrame(headers)).sync();
        lastStream = stream;
        return answer;
    }

    QuicStreamChannel lastStream;

    /** Sends one QUIC DATAGRAM with these exact bytes. */
    void datagram(byte[] bytes) {
        ByteBuf b = Unpooled.wrappedBuffer(bytes);
        connection.writeAndFlush(b);
    }

    @Override
    public void close() {
        connection.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
