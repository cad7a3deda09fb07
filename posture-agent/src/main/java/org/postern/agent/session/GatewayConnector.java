package org.postern.agent.session;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLException;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.OpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import org.jspecify.annotations.Nullable;
import org.postern.agent.enroll.DeviceKeyManager;
import org.postern.agent.enroll.PinnedRootTrustManager;
import org.postern.agent.key.DeviceKey;
import org.postern.agent.tunnel.CloseReasons;
import org.postern.agent.tunnel.TunnelBuffers;
import org.postern.agent.vpn.Http2ConnectIp;
import org.postern.config.agent.AgentSettings;
import org.postern.tls.TlsContexts;
import org.postern.net.Transport;

/**
 * Opens the agent's one connection to the gateway: TCP, TLS 1.3 presenting the device key and
 * certificate and trusting only the CA pinned at enrollment (host name checked), ALPN {@code h2},
 * then HTTP/2 with one child stream per request or tunnel ({@link Http2MultiplexHandler}).
 */
final class GatewayConnector {
    /** Why the connection ended, when an error ended it (a TLS alert after the handshake, a reset). */
    static final io.netty.util.AttributeKey<Throwable> FAILURE = io.netty.util.AttributeKey.valueOf("postern.failure");
    /** Why the gateway closed the connection, when its GOAWAY said ({@link CloseReasons}): {@code revoked}, … */
    static final io.netty.util.AttributeKey<String> CLOSE_REASON = CloseReasons.CONNECTION;
    private GatewayConnector() {
    }

    /**
     * The client TLS context: TLS 1.3 only, ALPN {@code h2}, the CA pinned at enrollment, the
     * gateway's host name checked, the device key and certificate presented.
     *
     * <p>{@code provider} ({@code tls.provider} in agent.yaml) chooses the engine. BoringSSL
     * ({@code openssl}, through netty-tcnative; {@code auto} when its native library loads here) has the faster record
     * layer; it is given the certificate chain only, and asks the key's own JCA provider
     * ({@link DeviceKey#provider()}: SunEC for a key file, SunPKCS11 for a token) for the one
     * handshake signature, so a token key never leaves the token. The JDK's engine ({@code jdk}, or
     * {@code auto} without the native library) uses the key through JSSE the same way.
     */
    static SslContext tls(String caSha256, DeviceKey key, X509Certificate cert, AgentSettings.Tls.Provider provider)
            throws SSLException {
        SslProvider engine = switch (provider) {
            case AUTO -> TlsContexts.provider();
            case OPENSSL -> SslProvider.OPENSSL;
            case JDK -> SslProvider.JDK;
        };
        return TlsContexts.client()
                .provider(engine)
                .identity(new DeviceKeyManager(key.privateKey(), List.of(cert)), key.provider())
                .trust(new PinnedRootTrustManager(caSha256))
                .checkHostName()
                .alpn(List.of(ApplicationProtocolNames.HTTP_2))
                .netty();
    }

    /** The TLS engine a connection runs on, as the agent says it: {@code BoringSSL} or {@code JDK}. */
    static String engineName(Channel connection) {
        SslHandler ssl = connection.pipeline().get(SslHandler.class);
        return ssl != null && ssl.engine() instanceof OpenSslEngine ? "BoringSSL" : "JDK";
    }

    /**
     * Connects; the future completes with the connection once TLS is up and HTTP/2 was agreed, or
     * fails saying what went wrong (no route, TLS, a gateway without {@code h2}).
     */
    static Future<Channel> connect(EventLoopGroup group, URI gateway, SslContext ssl, Duration timeout) {
        return connect(group, gateway, null, ssl, timeout);
    }

    /**
     * Connects to {@code address} (one of the addresses of the gateway's name; null = resolve the
     * name) while TLS still sends the name as SNI and checks the certificate against it.
     */
    static Future<Channel> connect(EventLoopGroup group, URI gateway, @Nullable InetAddress address,
                                   SslContext ssl, Duration timeout) {
        String host = gateway.getHost();
        int port = gateway.getPort() > 0 ? gateway.getPort() : 443;
        Promise<Channel> ready = group.next().newPromise();
        Bootstrap b = new Bootstrap().group(group).channel(Transport.of(group).socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout.toMillis())
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, TunnelBuffers.ALLOCATOR)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // TLS with the device key, SNI and host name check for the gateway's name
                        SslHandler tls = ssl.newHandler(ch.alloc(), host, port);
                        // a refused handshake (wrong name, a root not pinned, an alert) fails with its own
                        // cause, before the close that follows it could say only "closed"
                        tls.handshakeFuture().addListener(h -> {
                            if (!h.isSuccess()) {
                                ready.tryFailure(h.cause());
                            }
                        });
                        ch.pipeline().addLast("tls", tls);
                        // after the handshake: HTTP/2 if the gateway agreed to it, else a clear failure
                        ch.pipeline().addLast("alpn", new ApplicationProtocolNegotiationHandler("none") {
                            @Override
                            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                                if (!ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                                    ready.tryFailure(new IOException("the gateway at " + host + ":" + port
                                            + " does not speak HTTP/2: expected ALPN h2, found " + protocol));
                                    ctx.close();
                                    return;
                                }
                                // windows: what the gateway may have in flight towards us per tunnel and in all;
                                // Netty's 64 KiB default caps a tunnel at one window per round trip
                                Http2FrameCodec h2 = Http2FrameCodecBuilder.forClient()
                                        .initialSettings(Http2Settings.defaultSettings().pushEnabled(false)
                                                .initialWindowSize(STREAM_WINDOW)
                                                .maxFrameSize(MAX_FRAME_SIZE))
                                        .build();
                                // the tunnels' flushes within one turn of the event loop leave as one write to TLS
                                ctx.pipeline().addLast("flushes", new FlushConsolidationHandler(
                                        FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
                                ctx.pipeline().addLast("h2", h2);
                                widenConnectionWindow(h2);
                                // a gateway gone without a word (power, link) is noticed: a PING after 15 s of quiet
                                ctx.pipeline().addLast("quiet", GatewayPingHandler.idleState());
                                ctx.pipeline().addLast("ping", new GatewayPingHandler());
                                // streams the gateway would open towards the agent are not expected
                                ctx.pipeline().addLast("streams", new Http2MultiplexHandler(new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelActive(ChannelHandlerContext c) {
                                        c.close();
                                    }
                                }));
                                ctx.pipeline().addLast("errors", new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext c, Object msg) {
                                        // a GOAWAY may say why the gateway closes the connection (docs/gateway.md)
                                        // whether the gateway serves CONNECT-IP on this connection (RFC 8441 SETTINGS)
                                        if (msg instanceof Http2SettingsFrame settings) {
                                            Http2ConnectIp.remember(c.channel(), settings);
                                        }
                                        if (msg instanceof Http2GoAwayFrame goAway) {
                                            String why = CloseReasons.fromGoAway(goAway.content().toString(StandardCharsets.US_ASCII));
                                            if (why != null) {
                                                c.channel().attr(CLOSE_REASON).set(why);
                                            }
                                        }
                                        ReferenceCountUtil.release(msg);
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
                                        // the session says why the connection ended; nothing else is to be done
                                        c.channel().attr(FAILURE).setIfAbsent(cause);
                                        c.close();
                                    }
                                });
                                ready.trySuccess(ctx.channel());
                            }

                            @Override
                            protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
                                ready.tryFailure(cause);
                                ctx.close();
                            }
                        });
                    }
                });
        (address != null ? b.connect(new InetSocketAddress(address, port)) : b.connect(host, port)).addListener((io.netty.channel.ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                ready.tryFailure(f.cause());
                return;
            }
            f.channel().closeFuture().addListener(c -> ready.tryFailure(
                    new IOException("the gateway at " + host + ":" + port + " closed the connection during the TLS handshake")));
        });
        return ready;
    }

    /** HTTP/2 window per stream: what one tunnel may have in flight from the gateway. */
    static final int STREAM_WINDOW = 1024 * 1024;
    /** HTTP/2 window per connection: what all tunnels together may have in flight. */
    static final int CONNECTION_WINDOW = 8 * 1024 * 1024;
    /**
     * SETTINGS_MAX_FRAME_SIZE: the largest DATA frame the gateway may send, 64 KiB (a whole socket
     * read of the admin host) instead of 16 KiB: a quarter of the frames and stream reads per byte.
     */
    static final int MAX_FRAME_SIZE = 64 * 1024;

    private static void widenConnectionWindow(Http2FrameCodec h2) {
        try {
            var local = h2.connection().local().flowController();
            var connection = h2.connection().connectionStream();
            local.incrementWindowSize(connection, CONNECTION_WINDOW - local.windowSize(connection));
        } catch (Http2Exception e) {
            throw new IllegalStateException("cannot widen the HTTP/2 connection window: " + e.getMessage(), e);
        }
    }
}
