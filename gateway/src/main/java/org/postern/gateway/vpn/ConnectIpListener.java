package org.postern.gateway.vpn;

import java.net.InetSocketAddress;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.X509TrustManager;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.DefaultHttp3SettingsFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ServerConnectionHandler;
import io.netty.handler.codec.http3.Http3Settings;
import io.netty.handler.codec.quic.Quic;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.tls.TlsContexts;
import org.postern.vpn.transport.H3Datagrams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VPN mode's HTTP/3 listener (docs/vpn.md "Transports"): QUIC on UDP — by default on the
 * tunnel listener's host and port — with the gateway's certificate, ALPN {@code h3}, a device
 * certificate required and decided inside the handshake by the same trust manager as the TCP
 * tunnel listener (device CA, live revocation view), QUIC DATAGRAM on, and HTTP/3 SETTINGS that
 * allow extended CONNECT (RFC 9220) and HTTP datagrams (RFC 9297). Every request stream starts
 * with {@link H3ConnectIpHandler}.
 *
 * <p>QUIC runs on one event loop of its own (one UDP socket is read by one thread); links and the
 * acceptor's callbacks run there. No address validation (Retry) is done: QUIC's own limit of
 * three times the bytes received before the handshake bounds what a spoofed source can draw.
 */
public final class ConnectIpListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectIpListener.class);
    /** QUIC DATAGRAM frames queued per connection in each direction before the oldest are dropped. */
    static final int DATAGRAM_QUEUE = 1024;

    private final EventLoopGroup group;
    private final Channel channel;
    private final AtomicLong droppedDatagrams;
    private final ChannelGroup connections;

    private ConnectIpListener(EventLoopGroup group, Channel channel, AtomicLong droppedDatagrams, ChannelGroup connections) {
        this.group = group;
        this.channel = channel;
        this.droppedDatagrams = droppedDatagrams;
        this.connections = connections;
    }

    /**
     * Binds the listener.
     *
     * @param address     UDP host and port (the tunnel listener's by default)
     * @param key         the gateway's TLS key
     * @param chain       its certificate first, then the CA chain
     * @param deviceTrust the tunnel listener's device trust manager (DeviceTrustManager)
     * @param acceptor    decides the well-formed CONNECT-IP requests
     * @throws IllegalStateException QUIC's native library (netty-codec-native-quic) does not load here
     */
    public static ConnectIpListener start(InetSocketAddress address, PrivateKey key, List<X509Certificate> chain,
                                          X509TrustManager deviceTrust, ConnectIpAcceptor acceptor) throws InterruptedException {
        Objects.requireNonNull(acceptor, "acceptor");
        if (!Quic.isAvailable()) {
            throw new IllegalStateException("HTTP/3 listener on UDP " + address + ": expected QUIC's native library "
                    + "(netty-codec-native-quic for this OS and CPU), found it does not load: " + Quic.unavailabilityCause());
        }
        QuicSslContext tls = QuicSslContextBuilder.forServer(key, null, chain.toArray(X509Certificate[]::new))
                .trustManager(deviceTrust)
                .clientAuth(ClientAuth.REQUIRE)
                .applicationProtocols(Http3.supportedApplicationProtocols())
                .build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        AtomicLong dropped = new AtomicLong();
        ChannelGroup connections = new DefaultChannelGroup("vpn-h3", GlobalEventExecutor.INSTANCE);
        ChannelHandler codec = Http3.newQuicServerCodecBuilder()
                .sslContext(tls)
                .maxIdleTimeout(30, TimeUnit.SECONDS)
                .initialMaxData(16 << 20)
                .initialMaxStreamDataBidirectionalLocal(4 << 20)
                .initialMaxStreamDataBidirectionalRemote(4 << 20)
                .initialMaxStreamsBidirectional(16)
                .datagram(DATAGRAM_QUEUE, DATAGRAM_QUEUE)
                .maxSendUdpPayloadSize(H3Datagrams.MAX_UDP_PAYLOAD)
                .maxRecvUdpPayloadSize(H3Datagrams.MAX_UDP_PAYLOAD)
                .handler(new ChannelInitializer<QuicChannel>() {
                    @Override
                    protected void initChannel(QuicChannel connection) {
                        connection.pipeline()
                                // who: the device certificate the handshake accepted
                                .addLast("identity", new DeviceIdentityHandler(connections))
                                // HTTP/3: control streams, QPACK, SETTINGS; each request stream gets the CONNECT-IP check
                                .addLast("h3", new Http3ServerConnectionHandler(new ChannelInitializer<QuicStreamChannel>() {
                                    @Override
                                    protected void initChannel(QuicStreamChannel stream) {
                                        stream.pipeline().addLast("connectIp", new H3ConnectIpHandler(acceptor));
                                    }
                                }, null, null, new DefaultHttp3SettingsFrame(settings()), true))
                                // QUIC DATAGRAM frames to their links
                                .addLast("datagrams", new H3Datagrams(dropped));
                    }
                })
                .build();
        try {
            Channel channel = new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(codec)
                    .bind(address).sync().channel();
            LOG.info("VPN HTTP/3 listener on UDP {}", channel.localAddress());
            return new ConnectIpListener(group, channel, dropped, connections);
        } catch (RuntimeException | InterruptedException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** Extended CONNECT and HTTP datagrams allowed, besides Netty's defaults. */
    private static Http3Settings settings() {
        return Http3Settings.defaultSettings().enableConnectProtocol(true).enableH3Datagram(true);
    }

    /** The bound UDP address. */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /**
     * The open QUIC connections, each with its {@link ClientIdentity#KEY} (a live view): for
     * {@code LiveRevocations.closeBarredConnections}, so a revoked device's VPN ends at once.
     */
    public ChannelGroup connections() {
        return connections;
    }

    /** Datagrams dropped because no open CONNECT-IP link had their stream id. */
    public long droppedDatagrams() {
        return droppedDatagrams.get();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /** Sets {@link ClientIdentity#KEY} on the connection once its handshake is done, and lists it. */
    private static final class DeviceIdentityHandler extends ChannelInboundHandlerAdapter {
        private final ChannelGroup connections;

        DeviceIdentityHandler(ChannelGroup connections) {
            this.connections = connections;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            QuicChannel connection = (QuicChannel) ctx.channel();
            try {
                X509Certificate leaf = TlsContexts.peerCertificate(connection.sslEngine().getSession()).orElseThrow(
                        () -> new SSLPeerUnverifiedException("no client certificate"));
                connection.attr(ClientIdentity.KEY).set(ClientIdentity.of(leaf));
                connections.add(connection);
            } catch (SSLPeerUnverifiedException | IllegalArgumentException e) {
                // the handshake requires a device certificate, so only a broken peer gets here
                LOG.debug("{}: closed, no device identity: {}", connection, e.getMessage());
                connection.close();
                return;
            }
            ctx.fireChannelActive();
        }
    }
}
