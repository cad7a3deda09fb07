package org.postern.agent.session;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.postern.pki.PkiService;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.Evidence;
import org.postern.tls.TlsContexts;

/**
 * A small HTTP/2 gateway for the agent's client mechanics (the real one is tested end to end in the
 * cli module): mTLS 1.3 with ALPN h2, the posture endpoints (nonce, evidence verified against the
 * client certificate, a decision as configured), and CONNECT streams to loopback destinations,
 * refused with 403 {@code access.denied} for destinations in {@link #forbidden}.
 */
final class H2GatewayPeer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    final Channel server;
    final int port;

    /** What the next decision says. */
    volatile boolean compliant = true;
    /** When set, posture is answered 503 with this reason ({@code registry.unavailable}): a gateway that cannot decide. */
    volatile String unavailable;
    volatile Duration lease = Duration.ofMinutes(10);
    final Set<String> forbidden = ConcurrentHashMap.newKeySet();
    /** Signs {@code POST /v1/ssh/certificate} until the last lease's end; null = no bastion (404). */
    volatile org.postern.pki.ssh.SshUserCa sshCa;
    volatile Instant lastLeaseUntil;
    final AtomicInteger sshRequests = new AtomicInteger();

    final AtomicInteger challenges = new AtomicInteger();
    final List<String> verifiedDevices = new CopyOnWriteArrayList<>();
    final List<String> connects = new CopyOnWriteArrayList<>();
    private final Map<String, String> nonces = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();

    H2GatewayPeer(TestPki pki) throws Exception {
        PkiService.Issued tls = pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
        SslContext ssl = TlsContexts.server(tls.keys().getPrivate(), List.of(tlsChain(tls.certificate(), pki)))
                .provider(SslProvider.JDK).clientAuth(ClientAuth.REQUIRE).trust(pki.ca.chain())
                .alpn(List.of(ApplicationProtocolNames.HTTP_2)).build();
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        connections.add(c);
                        c.pipeline().addLast(ssl.newHandler(c.alloc()));
                        c.pipeline().addLast(Http2FrameCodecBuilder.forServer().build());
                        c.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                            @Override
                            protected void initChannel(Http2StreamChannel s) {
                                s.pipeline().addLast(new StreamHandler());
                            }
                        }));
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    private static X509Certificate[] tlsChain(X509Certificate leaf, TestPki pki) {
        List<X509Certificate> chain = new java.util.ArrayList<>();
        chain.add(leaf);
        chain.addAll(pki.ca.chain());
        return chain.toArray(X509Certificate[]::new);
    }

    String url() {
        return "https://127.0.0.1:" + port;
    }

    /** Closes every agent connection with a GOAWAY saying why, as the gateway does ({@code postern-close: <reason>}). */
    void goAway(String reason) {
        for (Channel c : connections) {
            c.eventLoop().execute(() -> {
                c.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame(io.netty.handler.codec.http2.Http2Error.NO_ERROR,
                        Unpooled.copiedBuffer("postern-close: " + reason, StandardCharsets.US_ASCII)));
                c.close();
            });
        }
    }

    /** Drops every agent connection, as a network outage would. */
    void dropConnections() {
        connections.close().syncUninterruptibly();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        connections.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One stream: a posture request (headers, body) or a CONNECT. */
    private final class StreamHandler extends ChannelInboundHandlerAdapter {
        private Http2Headers request;
        private final ByteBuf body = Unpooled.buffer();
        private Channel target;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame h && request == null) {
                request = h.headers();
                if ("CONNECT".contentEquals(request.method())) {
                    connect(ctx, request.authority().toString());
                } else if (h.isEndStream()) {
                    answer(ctx);
                }
            } else if (msg instanceof Http2DataFrame d) {
                if (target != null) {
                    boolean end = d.isEndStream();
                    target.writeAndFlush(d.content().retain()).addListener(f -> {
                        if (end && target instanceof SocketChannel sc) {
                            sc.shutdownOutput();
                        }
                    });
                } else {
                    body.writeBytes(d.content());
                    if (d.isEndStream()) {
                        answer(ctx);
                    }
                }
                d.release();
            } else {
                io.netty.util.ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            body.release();
            if (target != null) {
                target.close();
            }
        }

        private void connect(ChannelHandlerContext ctx, String authority) {
            connects.add(authority);
            if (forbidden.contains(authority)) {
                respond(ctx, "403", "access.denied", "access denied\n");
                return;
            }
            int colon = authority.lastIndexOf(':');
            String host = authority.substring(0, colon).replace("[", "").replace("]", "");
            int p = Integer.parseInt(authority.substring(colon + 1));
            ctx.channel().config().setAutoRead(false);
            new Bootstrap().group(ctx.channel().eventLoop()).channel(NioSocketChannel.class)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext t, Object m) {
                            // read the destination again only once the agent took this (HTTP/2 flow control)
                            ctx.writeAndFlush(new DefaultHttp2DataFrame((ByteBuf) m)).addListener(w -> {
                                if (w.isSuccess()) {
                                    t.read();
                                }
                            });
                        }

                        @Override
                        public void userEventTriggered(ChannelHandlerContext t, Object evt) {
                            if (evt instanceof ChannelInputShutdownEvent) {
                                ctx.writeAndFlush(new DefaultHttp2DataFrame(true));
                            }
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext t) {
                            ctx.close();
                        }
                    }).connect(host, p).addListener((ChannelFutureListener) f -> {
                        if (!f.isSuccess()) {
                            respond(ctx, "502", "connect.failed", "cannot connect to destination\n");
                            return;
                        }
                        target = f.channel();
                        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false));
                        ctx.channel().config().setAutoRead(true);
                        target.read();
                    });
        }

        private void answer(ChannelHandlerContext ctx) {
            String path = request.path().toString();
            try {
                if (path.equals(PostureExchange.CHALLENGE_PATH) && unavailable != null) {
                    challenges.incrementAndGet();
                    respond(ctx, "503", unavailable, "the device registry could not be read (fail closed)\n");
                } else if (path.equals(PostureExchange.CHALLENGE_PATH)) {
                    challenges.incrementAndGet();
                    String nonce = HexFormat.of().formatHex(random.generateSeed(16));
                    nonces.put(nonce, nonce);
                    respondJson(ctx, "200", null, Map.of("nonce", nonce, "expiresAt", Instant.now().plusSeconds(60).toString()));
                } else if (path.equals(PostureExchange.EVIDENCE_PATH)) {
                    String jws = JSON.readTree(body.toString(StandardCharsets.UTF_8)).path("evidence").asText();
                    X509Certificate client = (X509Certificate) ctx.channel().parent().pipeline().get(SslHandler.class)
                            .engine().getSession().getPeerCertificates()[0];
                    var claims = Evidence.verify(jws, client, n -> nonces.remove(n) != null, Instant.now(), Duration.ofMinutes(5));
                    verifiedDevices.add(claims.ueid());
                    Map<String, Object> d = new java.util.LinkedHashMap<>();
                    d.put("compliant", compliant);
                    d.put("mode", "enforce");
                    d.put("reasons", compliant ? List.of() : List.of(Map.of("code", "disk.not_encrypted",
                            "message", "System volume / is not encrypted",
                            "remediation", "Encrypt the system volume with LUKS, then run postern-agent check.")));
                    lastLeaseUntil = compliant ? Instant.now().plus(lease) : null;
                    d.put("leaseUntil", compliant ? lastLeaseUntil.toString() : null);
                    d.put("policyVersion", "test-1");
                    respondJson(ctx, "200", null, d);
                } else if (path.equals(org.postern.agent.ssh.SshCertificates.PATH) && sshCa != null) {
                    sshRequests.incrementAndGet();
                    var key = org.postern.pki.ssh.SshUserCa.parsePublicKey(body.toString(StandardCharsets.US_ASCII));
                    respond(ctx, "200", null, sshCa.issue(key, "laptop-7", "alice", Instant.now(), lastLeaseUntil).line() + "\n");
                } else {
                    if (path.equals(org.postern.agent.ssh.SshCertificates.PATH)) {
                        sshRequests.incrementAndGet();
                    }
                    respond(ctx, "404", "http.not_found", "not found\n");
                }
            } catch (Exception e) {
                respond(ctx, "400", "evidence.malformed", e.getMessage() + "\n");
            }
        }

        private void respondJson(ChannelHandlerContext ctx, String status, String reason, Object body) throws Exception {
            Http2Headers h = new DefaultHttp2Headers().status(status).set("content-type", "application/json");
            if (reason != null) {
                h.set("postern-reason", reason);
            }
            ctx.write(new DefaultHttp2HeadersFrame(h, false));
            ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(JSON.writeValueAsBytes(body)), true));
        }

        private void respond(ChannelHandlerContext ctx, String status, String reason, String text) {
            Http2Headers h = new DefaultHttp2Headers().status(status).set("content-type", "text/plain");
            if (reason != null) {
                h.set("postern-reason", reason);
            }
            ctx.write(new DefaultHttp2HeadersFrame(h, false));
            ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8), true));
        }
    }
}
