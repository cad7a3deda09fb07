package org.postern.agent.vpn;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.X509TrustManager;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.DefaultHttp3SettingsFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ClientConnectionHandler;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3RequestStreamInboundHandler;
import io.netty.handler.codec.http3.Http3Settings;
import io.netty.handler.codec.quic.Quic;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import org.postern.agent.enroll.DeviceKeyManager;
import org.postern.agent.enroll.PinnedRootTrustManager;
import org.postern.agent.key.DeviceKey;
import org.postern.tls.TlsContexts;
import org.postern.vpn.transport.H3Datagrams;
import org.postern.vpn.transport.H3IpLink;
import org.postern.vpn.transport.IpLink;

/**
 * Opens CONNECT-IP (RFC 9484) to the gateway: over HTTP/3 — QUIC on UDP, the device certificate
 * and key, the CA pinned at enrollment, the gateway's host name checked, QUIC DATAGRAM on — or
 * over HTTP/2, as an extended CONNECT stream (RFC 8441) on the agent's existing connection
 * ({@link Http2ConnectIp}). {@link #openAuto} tries HTTP/3 first and says why it fell back.
 *
 * <p>HTTP/3 needs the device key's bytes: netty's QUIC hands the key to BoringSSL, and unlike the
 * TCP client (JcaSigningKeyMethod) it offers no public way to have the handshake signature made by
 * the key's JCA provider. A key that does not leave its token (PKCS#11) therefore uses HTTP/2
 * ({@link #h3Capable}).
 *
 * <p>An HTTP/3 link owns its QUIC connection and the one event loop reading its UDP socket: both
 * end when the link's stream closes.
 */
public final class ConnectIpClient {
    /** QUIC DATAGRAM frames queued in each direction before the oldest are dropped. */
    static final int DATAGRAM_QUEUE = 1024;
    /** How long {@link #openAuto} waits for HTTP/3 before using HTTP/2. */
    public static final Duration H3_WAIT = Duration.ofSeconds(3);

    /** An open link, and when it is not HTTP/3, why (a sentence for the user). */
    public record Opened(ConnectIpAnswer answer, String fallbackReason) {
        public IpLink link() {
            return answer.link();
        }
    }

    private final String host;
    private final int port;
    private final QuicSslContext tls;
    private final AtomicLong droppedDatagrams = new AtomicLong();

    private ConnectIpClient(String host, int port, QuicSslContext tls) {
        this.host = host;
        this.port = port;
        this.tls = tls;
    }

    /**
     * A client for the gateway at {@code host:port} (UDP), presenting {@code key} and {@code cert}
     * and trusting only the root whose SHA-256 is {@code caSha256}.
     *
     * @throws IllegalArgumentException the key cannot be used for HTTP/3 ({@link #h3Capable})
     */
    public static ConnectIpClient forGateway(String host, int port, String caSha256, DeviceKey key, X509Certificate cert) {
        return forGateway(host, port, new PinnedRootTrustManager(caSha256), key, cert);
    }

    /** As {@link #forGateway(String, int, String, DeviceKey, X509Certificate)} with any server trust. */
    static ConnectIpClient forGateway(String host, int port, X509TrustManager trust, DeviceKey key, X509Certificate cert) {
        if (!h3Capable(key)) {
            throw new IllegalArgumentException("HTTP/3: the device key (" + key.provider().getName()
                    + ") does not leave its token, and QUIC's TLS cannot sign through it; use HTTP/2");
        }
        QuicSslContext tls = QuicSslContextBuilder.forClient()
                .keyManager(new DeviceKeyManager(key.privateKey(), List.of(cert)), null)
                // the pinned root, then the gateway's name as dialled (HTTPS rules), as on TCP
                .trustManager(TlsContexts.checkingHostName(trust, host))
                .applicationProtocols(Http3.supportedApplicationProtocols())
                .build();
        return new ConnectIpClient(host, port, tls);
    }

    /** Whether HTTP/3 can use {@code key}: only a key whose bytes can be read (a key file). */
    public static boolean h3Capable(DeviceKey key) {
        return key.privateKey().getEncoded() != null;
    }

    /** Datagrams dropped by this client because they named no open link. */
    public long droppedDatagrams() {
        return droppedDatagrams.get();
    }

    /**
     * Opens CONNECT-IP over HTTP/3. The future fails with {@link ConnectIpRefusedException} when
     * the gateway answers another status than 200, with {@link TimeoutException} after
     * {@code timeout}, or with the TLS or QUIC failure.
     */
    public CompletableFuture<IpLink> openH3(Duration timeout) {
        return openH3(timeout, Map.of()).thenApply(ConnectIpAnswer::link);
    }

    /**
     * As {@link #openH3(Duration)}, adding {@code requestHeaders} to the request and giving the
     * whole answer (the link with its event loop, the header fields the gateway pushed).
     */
    public CompletableFuture<ConnectIpAnswer> openH3(Duration timeout, Map<String, String> requestHeaders) {
        CompletableFuture<ConnectIpAnswer> opened = new CompletableFuture<>();
        if (!Quic.isAvailable()) {
            opened.completeExceptionally(new IOException("HTTP/3: QUIC's native library does not load here: "
                    + Quic.unavailabilityCause()));
            return opened;
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        opened.whenComplete((link, failure) -> {
            if (failure != null) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
        });
        group.schedule(() -> opened.completeExceptionally(new TimeoutException(
                "HTTP/3 (UDP " + port + ") did not answer within " + timeout.toSeconds() + " s")), timeout.toMillis(), TimeUnit.MILLISECONDS);
        ChannelHandler codec = Http3.newQuicClientCodecBuilder()
                .sslContext(tls)
                .sslEngineProvider(q -> tls.newEngine(q.alloc(), host, port))
                .maxIdleTimeout(30, TimeUnit.SECONDS)
                .initialMaxData(16 << 20)
                .initialMaxStreamDataBidirectionalLocal(4 << 20)
                .initialMaxStreamDataBidirectionalRemote(4 << 20)
                .datagram(DATAGRAM_QUEUE, DATAGRAM_QUEUE)
                .maxSendUdpPayloadSize(H3Datagrams.MAX_UDP_PAYLOAD)
                .maxRecvUdpPayloadSize(H3Datagrams.MAX_UDP_PAYLOAD)
                .build();
        new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(codec).bind(0).addListener(bound -> {
            if (!bound.isSuccess()) {
                opened.completeExceptionally(bound.cause());
                return;
            }
            Channel udp = ((ChannelFuture) bound).channel();
            QuicChannel.newBootstrap(udp)
                    .handler(new ChannelInitializer<QuicChannel>() {
                        @Override
                        protected void initChannel(QuicChannel connection) {
                            connection.pipeline()
                                    .addLast("h3", new Http3ClientConnectionHandler(null, null, null,
                                            new DefaultHttp3SettingsFrame(Http3Settings.defaultSettings().enableH3Datagram(true)), true))
                                    .addLast("datagrams", new H3Datagrams(droppedDatagrams));
                        }
                    })
                    .remoteAddress(new InetSocketAddress(host, port))
                    .connect()
                    .addListener(q -> {
                        if (!q.isSuccess()) {
                            opened.completeExceptionally(q.cause());
                            return;
                        }
                        QuicChannel connection = (QuicChannel) q.getNow();
                        connection.closeFuture().addListener(c -> {
                            udp.close();
                            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                        });
                        opened.whenComplete((link, failure) -> {
                            if (failure != null) {
                                connection.close();
                            }
                        });
                        Http3.newRequestStream(connection, new ResponseHandler(opened)).addListener(s -> {
                            if (!s.isSuccess()) {
                                opened.completeExceptionally(s.cause());
                                return;
                            }
                            QuicStreamChannel stream = (QuicStreamChannel) s.getNow();
                            stream.closeFuture().addListener(c -> connection.close());
                            Http3Headers h = request(host + ":" + port);
                            requestHeaders.forEach(h::set);
                            stream.writeAndFlush(new DefaultHttp3HeadersFrame(h));
                        });
                    });
        });
        return opened;
    }

    /**
     * HTTP/3 first, for at most {@code h3Wait}; then HTTP/2 on {@code h2Connection} (the agent's
     * connection to the gateway). The result says which, and why HTTP/2 if so.
     */
    public static CompletableFuture<Opened> openAuto(ConnectIpClient h3, Channel h2Connection, String authority, Duration h3Wait) {
        return openAuto(h3, h2Connection, authority, h3Wait, Map.of());
    }

    /** As {@link #openAuto(ConnectIpClient, Channel, String, Duration)}, adding {@code requestHeaders} to the request. */
    public static CompletableFuture<Opened> openAuto(ConnectIpClient h3, Channel h2Connection, String authority, Duration h3Wait,
                                                     Map<String, String> requestHeaders) {
        Objects.requireNonNull(h2Connection, "h2Connection");
        return h3.openH3(h3Wait, requestHeaders).thenApply(answer -> new Opened(answer, ""))
                .exceptionallyCompose(failure -> {
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure;
                    if (cause instanceof ConnectIpRefusedException refused) { // the gateway said no: HTTP/2 would hear the same
                        return CompletableFuture.failedFuture(refused);
                    }
                    String why = cause instanceof TimeoutException
                            ? "HTTP/3 (UDP " + h3.port + ") did not answer within " + h3Wait.toSeconds() + " s; using HTTP/2 over TCP"
                            : "HTTP/3 (UDP " + h3.port + ") failed (" + cause.getMessage() + "); using HTTP/2 over TCP";
                    return Http2ConnectIp.open(h2Connection, authority, requestHeaders).thenApply(answer -> new Opened(answer, why));
                });
    }

    static Http3Headers request(String authority) {
        Http3Headers h = new DefaultHttp3Headers();
        h.method("CONNECT").protocol(ConnectIpRequests.PROTOCOL).scheme("https").authority(authority).path(ConnectIpRequests.PATH);
        h.set(ConnectIpRequests.CAPSULE_PROTOCOL, "?1");
        return h;
    }

    /** Reads the answer: a 200 opens the link; another status, with its body, fails the future. */
    private static final class ResponseHandler extends Http3RequestStreamInboundHandler {
        private final CompletableFuture<ConnectIpAnswer> opened;
        private final ConnectIpReply reply = new ConnectIpReply();

        ResponseHandler(CompletableFuture<ConnectIpAnswer> opened) {
            this.opened = opened;
        }

        @Override
        protected void channelRead(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
            if (reply.status() != 0) {
                return; // trailers
            }
            if (reply.answered(frame.headers().status(), frame.headers().get(ConnectIpRequests.REASON_HEADER)) == 200) {
                H3IpLink link = H3IpLink.open((QuicStreamChannel) ctx.channel());
                ctx.pipeline().remove(this);
                Http3Headers headers = frame.headers();
                if (!opened.complete(ConnectIpAnswer.of(link, ctx.channel().eventLoop(), headers::get))) {
                    link.close("opened too late");
                }
            }
        }

        @Override
        protected void channelRead(ChannelHandlerContext ctx, Http3DataFrame frame) {
            reply.addBody(frame.content());
            frame.release();
        }

        @Override
        protected void channelInputClosed(ChannelHandlerContext ctx) {
            opened.completeExceptionally(reply.refused());
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            opened.completeExceptionally(new IOException("HTTP/3: the gateway closed the CONNECT-IP stream without an answer"));
            ctx.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            reply.release();
        }
    }
}
