package org.postern.cli.vpn;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.Security;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.agent.key.DeviceKey;
import org.postern.agent.vpn.ConnectIpClient;
import org.postern.agent.vpn.Http2ConnectIp;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.server.GatewayServer;
import org.postern.gateway.vpn.ConnectIpRequest;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPki;
import org.postern.tls.TlsContexts;
import org.postern.vpn.transport.IpLink;

/**
 * The VPN transport through a whole gateway (GatewayServer with the VPN mode on): CONNECT-IP over
 * HTTP/3 on the tunnel listener's UDP port, over HTTP/2 on its TCP connections, and the agent
 * falling back to HTTP/2 when UDP gets no answer.
 */
class ConnectIpGatewayTest {
    TestPki pki;
    GatewayServer gateway;
    TestPki.Enrolled laptop;
    final List<ConnectIpRequest> asked = new CopyOnWriteArrayList<>();
    /** When set, the acceptor closes each link at once with this reason. */
    volatile String closeWith;
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create();
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings settings = new GatewaySettings("gw-vpn", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", freePort()), new HostPort("127.0.0.1", freePort()), false,
                        new HostPort("127.0.0.1", freePort())),
                new GatewaySettings.Tls(null, null, GatewaySettings.Tls.Provider.AUTO, false), PosturePolicy.defaults(),
                new AccessRules(List.of()), d.limits(), new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"),
                GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE),
                java.time.Clock.systemUTC(), new java.security.SecureRandom(), GatewayServer.Options.DEFAULTS.withVpn(request -> {
                    asked.add(request);
                    if (closeWith != null) {
                        request.accept().close(closeWith);
                    } else {
                        ConnectIpTransportTest.echo(request.accept());
                    }
                }));
        laptop = pki.enroll("laptop-1", "alice");
    }

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        if (gateway != null) {
            gateway.close();
        }
        pki.close();
    }

    static int freePort() throws Exception {
        return org.postern.pki.testing.FreePorts.next();
    }

    DeviceKey key() {
        return new DeviceKey(laptop.keys().getPrivate(), laptop.keys().getPublic(), Security.getProvider("SunEC"));
    }

    /** The agent's kind of connection: TLS with the device certificate, HTTP/2, SETTINGS noted. */
    Channel h2Connection() throws Exception {
        SslContext tls = TlsContexts.client().identity(laptop.keys().getPrivate(), List.of(laptop.certificate()))
                .trust(List.of(pki.ca.root())).alpn(List.of(ApplicationProtocolNames.HTTP_2)).netty();
        int port = gateway.address().getPort();
        return new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(tls.newHandler(ch.alloc(), "127.0.0.1", port))
                        .addLast(Http2FrameCodecBuilder.forClient().build())
                        .addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()))
                        .addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof Http2SettingsFrame s) {
                                    Http2ConnectIp.remember(ctx.channel(), s);
                                }
                                ReferenceCountUtil.release(msg);
                            }
                        });
            }
        }).connect("127.0.0.1", port).sync().channel();
    }

    static String echoed(IpLink link, String text) throws Exception {
        ConnectIpTransportTest.Collected got = new ConnectIpTransportTest.Collected();
        link.setReceiver(got);
        link.sendStream(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        link.flush();
        StringBuilder back = new StringBuilder();
        while (back.length() < text.length()) {
            byte[] b = got.stream.poll(10, TimeUnit.SECONDS);
            assertThat(b).as("stream bytes echoed").isNotNull();
            back.append(new String(b, StandardCharsets.US_ASCII));
        }
        return back.toString();
    }

    @Test
    void h3_onTheTunnelListenersUdpPort_streamEchoed() throws Exception {
        ConnectIpClient client = ConnectIpClient.forGateway("127.0.0.1", gateway.address().getPort(), pki.ca.rootSha256(), key(),
                laptop.certificate());
        IpLink link = client.openH3(Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS);
        assertThat(link.transport()).isEqualTo("h3");
        assertThat(echoed(link, "over quic")).isEqualTo("over quic");
        assertThat(link.maxDatagramPayload()).isGreaterThanOrEqualTo(1300);
        link.close("test over");
    }

    @Test
    void h3_closedWithAReasonCode_thePeerHearsItFromTheTrailer() throws Exception {
        closeWith = "lease_ended";
        ConnectIpClient client = ConnectIpClient.forGateway("127.0.0.1", gateway.address().getPort(), pki.ca.rootSha256(), key(),
                laptop.certificate());
        IpLink link = client.openH3(Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS);
        ConnectIpTransportTest.Collected got = new ConnectIpTransportTest.Collected();
        link.setReceiver(got);
        assertThat(got.closed.poll(10, TimeUnit.SECONDS)).isEqualTo("lease_ended");
    }

    @Test
    void h2_closedWithAReasonCode_thePeerHearsItFromTheTrailer() throws Exception {
        closeWith = "revoked";
        Channel connection = h2Connection();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Http2ConnectIp.allowed(connection));
        IpLink link = Http2ConnectIp.open(connection, "127.0.0.1:" + gateway.address().getPort()).get(10, TimeUnit.SECONDS);
        ConnectIpTransportTest.Collected got = new ConnectIpTransportTest.Collected();
        link.setReceiver(got);
        assertThat(got.closed.poll(10, TimeUnit.SECONDS)).isEqualTo("revoked");
        connection.close().sync();
    }

    @Test
    void h3_deviceRevoked_linkClosedAtOnce() throws Exception {
        ConnectIpClient client = ConnectIpClient.forGateway("127.0.0.1", gateway.address().getPort(), pki.ca.rootSha256(), key(),
                laptop.certificate());
        IpLink link = client.openH3(Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS);
        ConnectIpTransportTest.Collected got = new ConnectIpTransportTest.Collected();
        link.setReceiver(got);
        pki.service.revoke("laptop-1", RevocationReason.retired, "test");
        assertThat(got.closed.poll(10, TimeUnit.SECONDS)).as("the agent's link closes when the device is revoked").isNotNull();
    }

    @Test
    void h2_extendedConnect_streamEchoed_datagramsUnsupported() throws Exception {
        Channel connection = h2Connection();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Http2ConnectIp.allowed(connection));
        IpLink link = Http2ConnectIp.open(connection, "127.0.0.1:" + gateway.address().getPort()).get(10, TimeUnit.SECONDS);
        assertThat(link.transport()).isEqualTo("h2");
        assertThat(link.maxDatagramPayload()).isZero();
        ByteBuf d = Unpooled.wrappedBuffer(new byte[10]);
        assertThat(link.sendDatagram(d)).isEqualTo(IpLink.DatagramResult.UNSUPPORTED);
        assertThat(d.refCnt()).isZero();
        assertThat(echoed(link, "capsules over h2")).isEqualTo("capsules over h2");
        assertThat(asked).singleElement().satisfies(r -> {
            assertThat(r.transport()).isEqualTo("h2");
            assertThat(r.device().deviceId()).isEqualTo("laptop-1");
        });
        link.close("test over");
        connection.close().sync();
    }

    /** Sends {@code headers} on a new stream of {@code connection}; the answer's status, reason and body. */
    static CompletableFuture<String> rawH2(Channel connection, Http2Headers headers) throws Exception {
        CompletableFuture<String> answer = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame h) {
                    got.append(h.headers().status()).append(' ').append(h.headers().get("postern-reason")).append(' ');
                } else if (msg instanceof Http2DataFrame d) {
                    got.append(d.content().toString(StandardCharsets.UTF_8));
                    if (d.isEndStream()) {
                        answer.complete(got.toString().strip());
                    }
                }
                ReferenceCountUtil.release(msg);
            }
        }).open().sync().getNow();
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false)).sync();
        return answer;
    }

    static Http2Headers connectIp(String path) {
        Http2Headers h = new DefaultHttp2Headers().method("CONNECT").scheme("https").authority("127.0.0.1:8443").path(path);
        h.set(":protocol", "connect-ip");
        h.set("capsule-protocol", "?1");
        return h;
    }

    @Test
    void h2_malformedOrOtherProtocol_400ConnectMalformed_neverAsked() throws Exception {
        Channel connection = h2Connection();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Http2ConnectIp.allowed(connection));
        assertThat(rawH2(connection, connectIp("/.well-known/masque/udp/*/*/")).get(10, TimeUnit.SECONDS))
                .startsWith("400 connect.malformed CONNECT-IP: expected :path /.well-known/masque/ip/{target}/{ipproto}/");
        Http2Headers noCapsules = connectIp("/.well-known/masque/ip/*/*/");
        noCapsules.remove("capsule-protocol");
        assertThat(rawH2(connection, noCapsules).get(10, TimeUnit.SECONDS))
                .startsWith("400 connect.malformed CONNECT-IP: expected header capsule-protocol: ?1");
        Http2Headers websocket = connectIp("/chat");
        websocket.set(":protocol", "websocket");
        assertThat(rawH2(connection, websocket).get(10, TimeUnit.SECONDS))
                .as("as before the VPN mode: terse to the peer, the detail in the audit trail")
                .isEqualTo("400 connect.malformed malformed CONNECT");
        assertThat(asked).isEmpty();
        connection.close().sync();
    }

    @Test
    void auto_nothingOnUdp_fallsBackToH2_andSaysWhy() throws Exception {
        int silent;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            silent = s.getLocalPort(); // closed again: nothing answers there
        }
        Channel connection = h2Connection();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Http2ConnectIp.allowed(connection));
        ConnectIpClient client = ConnectIpClient.forGateway("127.0.0.1", silent, pki.ca.rootSha256(), key(), laptop.certificate());
        long started = System.nanoTime();
        ConnectIpClient.Opened opened = ConnectIpClient.openAuto(client, connection, "127.0.0.1:" + gateway.address().getPort(),
                ConnectIpClient.H3_WAIT).get(15, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(8));
        assertThat(opened.link().transport()).isEqualTo("h2");
        assertThat(opened.fallbackReason())
                .isEqualTo("HTTP/3 (UDP " + silent + ") did not answer within 3 s; using HTTP/2 over TCP");
        assertThat(echoed(opened.link(), "fell back")).isEqualTo("fell back");
        opened.link().close("test over");
    }
}
