package org.postern.bench.tunnel;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.util.concurrent.Promise;
import org.postern.agent.session.PostureExchange;
import org.postern.agent.tunnel.ConnectStreamHandler;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

/**
 * A laptop as the agent is on the wire: one mutual-TLS 1.3 connection with its own device
 * certificate, ALPN {@code h2}; the posture exchange (challenge, then evidence signed with the
 * device key: a patched, encrypted Debian 12 laptop) for a lease; then each tunnel a CONNECT
 * stream on that connection. The HTTP/2 windows are the agent's (1 MiB per stream, 8 MiB per
 * connection), so the gateway sees what a real agent would send.
 */
final class H2Laptop implements Laptop {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STREAM_WINDOW = 1024 * 1024;
    private static final int CONNECTION_WINDOW = 8 * 1024 * 1024;
    private static final long SETUP_SECONDS = 30;

    private final String name;
    private final EventLoopGroup group;
    private final InetSocketAddress gateway;
    private final LaptopIdentity identity;
    private final String destination;
    private final ByteBuf chunk;
    private Channel connection;

    H2Laptop(String name, EventLoopGroup group, InetSocketAddress gateway, LaptopIdentity identity, String destination,
             ByteBuf chunk) {
        this.name = name;
        this.group = group;
        this.gateway = gateway;
        this.identity = identity;
        this.destination = destination;
        this.chunk = chunk;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<PushHandler> open(int streams) throws Exception {
        connection = connect();
        prove();
        List<PushHandler> tunnels = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            Promise<Http2StreamChannel> opened = connection.eventLoop().newPromise();
            PushHandler push = new PushHandler(chunk, ctx -> ctx.writeAndFlush(new DefaultHttp2DataFrame(true)));
            Laptop.await(new Http2StreamChannelBootstrap(connection).handler(new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel ch) {
                    ch.pipeline().addLast(new StreamBytesCodec(), new ConnectStreamHandler(destination, opened), push);
                }
            }).open(), SETUP_SECONDS, name + ": opening a stream");
            Laptop.await(opened, SETUP_SECONDS, name + ": CONNECT " + destination);
            tunnels.add(push);
        }
        return tunnels;
    }

    /**
     * TCP, mutual TLS 1.3 with ALPN h2, then (on the event loop, before the gateway's first frame
     * is read) the HTTP/2 codec and one child channel per stream.
     */
    private Channel connect() throws Exception {
        SslContext tls = identity.tls();
        Promise<Channel> ready = group.next().newPromise();
        new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(tls.newHandler(c.alloc(), gateway.getHostString(), gateway.getPort()));
                        c.pipeline().addLast(new ApplicationProtocolNegotiationHandler("none") {
                            @Override
                            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) throws Exception {
                                if (!ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                                    ready.tryFailure(new IllegalStateException("expected ALPN h2 from the gateway, found " + protocol));
                                    ctx.close();
                                    return;
                                }
                                Http2FrameCodec h2 = Http2FrameCodecBuilder.forClient()
                                        .initialSettings(Http2Settings.defaultSettings().pushEnabled(false)
                                                .initialWindowSize(STREAM_WINDOW))
                                        .build();
                                ctx.pipeline().addLast(h2, new Http2MultiplexHandler(new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelActive(ChannelHandlerContext stream) {
                                        stream.close(); // the gateway opens no streams towards a laptop
                                    }
                                }));
                                var flow = h2.connection().local().flowController();
                                var whole = h2.connection().connectionStream();
                                flow.incrementWindowSize(whole, CONNECTION_WINDOW - flow.windowSize(whole));
                                ready.trySuccess(ctx.channel());
                            }

                            @Override
                            protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
                                ready.tryFailure(cause);
                                ctx.close();
                            }
                        });
                    }
                }).connect(gateway).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        ready.tryFailure(f.cause());
                    } else {
                        f.channel().closeFuture().addListener(c -> ready.tryFailure(
                                new IllegalStateException("the gateway closed the connection during the handshake")));
                    }
                });
        return Laptop.await(ready, SETUP_SECONDS, name + ": connect, TLS and HTTP/2 to " + gateway);
    }

    /** Challenge, signed evidence, and a decision that grants a lease (the gateway's policy is report-only). */
    private void prove() throws Exception {
        String authority = gateway.getHostString() + ":" + gateway.getPort();
        PostureExchange.Answer challenge = Laptop.await(PostureExchange.post(connection, authority, PostureExchange.CHALLENGE_PATH, "{}"),
                SETUP_SECONDS, name + ": posture challenge");
        if (challenge.status() != 200) {
            throw new IllegalStateException(name + ": posture challenge: expected 200, found " + challenge);
        }
        String nonce = JSON.readTree(challenge.body()).path("nonce").asText("");
        Instant now = Instant.now();
        String deviceId = Evidence.deviceId(identity.certificate());
        String jws = Evidence.sign(PostureClaims.of(nonce, deviceId, now, new AgentInfo("postern-agent", "0.1.0"), facts(now)),
                identity.key(), identity.certificate());
        PostureExchange.Answer decision = Laptop.await(PostureExchange.post(connection, authority, PostureExchange.EVIDENCE_PATH,
                JSON.writeValueAsString(java.util.Map.of("evidence", jws))), SETUP_SECONDS, name + ": posture evidence");
        JsonNode d = decision.status() == 200 ? JSON.readTree(decision.body()) : null;
        if (d == null || d.path("leaseUntil").isNull() || d.path("leaseUntil").isMissingNode()) {
            throw new IllegalStateException(name + ": posture evidence: expected 200 with a lease, found " + decision);
        }
    }

    /** A patched, encrypted Debian 12 laptop. */
    private static PostureClaims.Facts facts(Instant now) {
        return new PostureClaims.Facts(new OsFacts(OsFacts.LINUX, "debian", "12", null, "6.1.0-18-amd64"),
                new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null),
                new PatchFacts(now.minus(Duration.ofDays(2)), 0, null, false), PostureClaims.NATIVE, List.of());
    }

    @Override
    public void close() {
        if (connection != null) {
            connection.close();
        }
    }
}
