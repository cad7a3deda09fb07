package org.postern.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.InvalidKeyException;
import java.security.InvalidParameterException;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.SignatureException;
import java.security.SignatureSpi;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.key.DeviceKey;
import org.postern.agent.key.DeviceKeyStore;
import org.postern.agent.key.DeviceKeys;
import org.postern.agent.state.AgentHome;
import org.postern.config.agent.AgentSettings.Tls;
import org.postern.keys.Fingerprints;
import org.postern.pki.PkiService;
import org.postern.pki.testing.SoftHsmToken;
import org.postern.pki.testing.TestPki;
import org.postern.tls.TlsContexts;

/**
 * The agent's TLS to the gateway on both engines (BoringSSL and the JDK's), each with a key file
 * and with a key inside a SoftHSM2 token: a real mutual TLS 1.3 handshake and an HTTP/2 request
 * against a server (BoringSSL, as the gateway) that requires a client certificate under the
 * device CA; a wrong host name and a server outside the pinned root are refused.
 *
 * <p>The token is opened in this JVM: SoftHSM2 reads {@code SOFTHSM2_CONF} from the environment,
 * which failsafe sets for this module (posture-agent/pom.xml) to a directory this class fills
 * before SunPKCS11 starts.
 */
@Timeout(120)
class AgentTlsIT {
    static TestPki pki;
    static TestPki otherPki;
    static EventLoopGroup group;
    static Server gateway;
    static Server wrongName;
    static Server otherRoot;
    static DeviceKey fileKey;
    static X509Certificate fileCert;
    static DeviceKey tokenKey;
    static X509Certificate tokenCert;

    @BeforeAll
    static void pkiServersAndKeys(@TempDir Path tmp) throws Exception {
        assertThat(OpenSsl.isAvailable()).as("netty-tcnative's BoringSSL on this machine (Linux x86_64 must have it): %s",
                OpenSsl.unavailabilityCause()).isTrue();
        pki = TestPki.create();
        pki.startServer();
        otherPki = TestPki.create();
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        gateway = new Server(pki, pki, pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test"));
        wrongName = new Server(pki, pki, pki.service.issueServer(List.of("gw.example.org"), List.of(), "test"));
        otherRoot = new Server(pki, otherPki, otherPki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test"));

        AgentHome home = GatewaySessionIT.enrolledHome(pki, tmp.resolve("file-agent"), gateway.url(), "laptop-file");
        fileCert = home.certificate();
        fileKey = DeviceKeyStore.open(home.enrollment().orElseThrow().key(), Map.of()).current(fileCert);

        DeviceKeys.Pkcs11Key where = new DeviceKeys.Pkcs11Key(token().pkcs11Config(), "device-tls", null);
        Map<String, String> env = Map.of("POSTERN_AGENT_PIN", SoftHsmToken.PIN);
        AgentHome tokenHome = new AgentHome(tmp.resolve("token-agent"));
        PkiService.NewDevice d = pki.service.addDevice("laptop-token", "alice", List.of("staff"), null, null, "test");
        new Enroller(tokenHome, Clock.systemUTC(), new SecureRandom(), env)
                .enroll(URI.create(pki.url("")), "laptop-token", d.token(), pki.ca.rootSha256(), DeviceKeyStore.open(where, env));
        tokenCert = tokenHome.certificate();
        tokenKey = DeviceKeyStore.open(where, env).current(tokenCert);
    }

    /** A fresh SoftHSM2 token where {@code SOFTHSM2_CONF} (set by failsafe) says. */
    private static SoftHsmToken token() throws IOException, InterruptedException {
        String conf = System.getenv("SOFTHSM2_CONF");
        assertThat(conf).as("SOFTHSM2_CONF, set by failsafe for this module (posture-agent/pom.xml)").isNotBlank();
        Path dir = Path.of(conf).getParent().getParent();
        if (Files.exists(dir)) {
            try (Stream<Path> old = Files.walk(dir)) {
                for (Path p : old.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        SoftHsmToken token = SoftHsmToken.create(Files.createDirectories(dir), "postern-agent-tls", "PosternAgentTlsIT");
        assertThat(token.softhsmConf()).isEqualTo(Path.of(conf));
        return token;
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {gateway, wrongName, otherRoot}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // the next one still closes
                }
            }
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (pki != null) {
            pki.close();
        }
        if (otherPki != null) {
            otherPki.close();
        }
    }

    static Stream<Arguments> enginesAndKeys() {
        return Stream.of(Arguments.of(Tls.Provider.OPENSSL, "file"), Arguments.of(Tls.Provider.OPENSSL, "token"),
                Arguments.of(Tls.Provider.JDK, "file"), Arguments.of(Tls.Provider.JDK, "token"));
    }

    @ParameterizedTest(name = "{0} with a {1} key")
    @MethodSource("enginesAndKeys")
    void handshake_presentsTheDeviceCertificate_andCarriesHttp2(Tls.Provider provider, String keyKind) throws Exception {
        Device device = device(keyKind);
        Channel connection = await(GatewayConnector.connect(group, URI.create(gateway.url()),
                GatewayConnector.tls(pki.ca.rootSha256(), device.key(), device.cert(), provider), Duration.ofSeconds(20)));
        try {
            // the engine asked for
            SslHandler ssl = connection.pipeline().get(SslHandler.class);
            if (provider == Tls.Provider.OPENSSL) {
                assertThat(ssl.engine()).isInstanceOf(OpenSslEngine.class);
                assertThat(GatewayConnector.engineName(connection)).isEqualTo("BoringSSL");
                // BoringSSL had only the chain: the one CertificateVerify was signed by the key's provider
                assertThat(device.signer().signatures.get()).isEqualTo(1);
            } else {
                // Netty's ALPN wrapper around the JDK's own SSLEngine
                assertThat(ssl.engine().getClass().getName()).isEqualTo("io.netty.handler.ssl.JdkAlpnSslEngine");
                assertThat(GatewayConnector.engineName(connection)).isEqualTo("JDK");
            }
            assertThat(ssl.engine().getSession().getProtocol()).isEqualTo("TLSv1.3");
            assertThat(ssl.applicationProtocol()).isEqualTo(ApplicationProtocolNames.HTTP_2);

            // an HTTP/2 request over the connection, answered with what the server saw
            PostureExchange.Answer a = await(PostureExchange.post(connection, "localhost:" + gateway.port, "/whoami", "{}"));
            assertThat(a.status()).isEqualTo(200);
            assertThat(a.body()).isEqualTo("client " + device.cert().getSubjectX500Principal().getName());
            // the server required and checked the client certificate (its handshake ended before it answered)
            assertThat(gateway.clientCertificates).contains(device.cert());
        } finally {
            connection.close().syncUninterruptibly();
        }
    }

    @Test
    void tokenKey_neverLeavesTheToken() {
        // what BoringSSL could have been given instead of asking the token: nothing
        assertThat(tokenKey.privateKey().getEncoded()).isNull();
        assertThat(tokenKey.provider().getName()).isEqualTo("SunPKCS11-PosternAgentTlsIT");
    }

    @ParameterizedTest(name = "{0} with a {1} key")
    @MethodSource("enginesAndKeys")
    void wrongHostName_isRefused(Tls.Provider provider, String keyKind) throws Exception {
        Device device = device(keyKind);
        Throwable failure = handshakeFailure(wrongName, GatewayConnector.tls(pki.ca.rootSha256(), device.key(), device.cert(), provider));
        assertThat(messages(failure)).contains("the server's certificate does not name the host dialled: expected 127.0.0.1"
                + " among its subject alternative names, found [DNS:gw.example.org]");
        assertThat(wrongName.clientCertificates).doesNotContain(device.cert());
    }

    @ParameterizedTest(name = "{0} with a {1} key")
    @MethodSource("enginesAndKeys")
    void serverOutsideThePinnedRoot_isRefused(Tls.Provider provider, String keyKind) throws Exception {
        Device device = device(keyKind);
        Throwable failure = handshakeFailure(otherRoot, GatewayConnector.tls(pki.ca.rootSha256(), device.key(), device.cert(), provider));
        assertThat(messages(failure)).contains("the server's chain does not contain the pinned CA: expected SHA-256 "
                + Fingerprints.normalize(pki.ca.rootSha256()));
        assertThat(otherRoot.clientCertificates).doesNotContain(device.cert());
    }

    @Test
    void auto_isBoringSslWhereItLoads() throws Exception {
        Channel connection = await(GatewayConnector.connect(group, URI.create(gateway.url()),
                GatewayConnector.tls(pki.ca.rootSha256(), fileKey, fileCert, Tls.Provider.AUTO), Duration.ofSeconds(20)));
        try {
            assertThat(connection.pipeline().get(SslHandler.class).engine()).isInstanceOf(OpenSslEngine.class);
        } finally {
            connection.close().syncUninterruptibly();
        }
    }

    // ---- the device keys, each behind a provider that counts its signatures

    record Device(DeviceKey key, X509Certificate cert, CountingProvider signer) {}

    static Device device(String kind) {
        DeviceKey k = kind.equals("token") ? tokenKey : fileKey;
        CountingProvider counting = new CountingProvider(k.provider());
        return new Device(new DeviceKey(k.privateKey(), k.publicKey(), counting), kind.equals("token") ? tokenCert : fileCert, counting);
    }

    /** A JCA provider whose ECDSA signatures are {@code delegate}'s, counted. */
    static final class CountingProvider extends Provider {
        final AtomicInteger signatures = new AtomicInteger();

        CountingProvider(Provider delegate) {
            super("Counting-" + delegate.getName(), "1", "counts the signatures " + delegate.getName() + " makes");
            for (String alg : List.of("SHA256withECDSA", "SHA384withECDSA", "SHA512withECDSA")) {
                putService(new Service(this, "Signature", alg, CountingSignature.class.getName(), null, null) {
                    @Override
                    public Object newInstance(Object parameter) throws NoSuchAlgorithmException {
                        return new CountingSignature(Signature.getInstance(alg, delegate), signatures);
                    }
                });
            }
        }
    }

    static final class CountingSignature extends SignatureSpi {
        private final Signature delegate;
        private final AtomicInteger count;

        CountingSignature(Signature delegate, AtomicInteger count) {
            this.delegate = delegate;
            this.count = count;
        }

        @Override
        protected void engineInitSign(PrivateKey privateKey) throws InvalidKeyException {
            delegate.initSign(privateKey);
        }

        @Override
        protected void engineUpdate(byte b) throws SignatureException {
            delegate.update(b);
        }

        @Override
        protected void engineUpdate(byte[] b, int off, int len) throws SignatureException {
            delegate.update(b, off, len);
        }

        @Override
        protected byte[] engineSign() throws SignatureException {
            count.incrementAndGet();
            return delegate.sign();
        }

        @Override
        protected void engineInitVerify(PublicKey publicKey) throws InvalidKeyException {
            throw new InvalidKeyException("this provider only signs");
        }

        @Override
        protected boolean engineVerify(byte[] sigBytes) throws SignatureException {
            throw new SignatureException("this provider only signs");
        }

        @Override
        @SuppressWarnings("deprecation")
        protected void engineSetParameter(String param, Object value) {
            throw new InvalidParameterException("no parameters");
        }

        @Override
        @SuppressWarnings("deprecation")
        protected Object engineGetParameter(String param) {
            throw new InvalidParameterException("no parameters");
        }
    }

    // ---- a server that requires a client certificate under the device CA, as the gateway does

    static final class Server implements AutoCloseable {
        final Channel channel;
        final int port;
        final List<X509Certificate> clientCertificates = new CopyOnWriteArrayList<>();

        /** Trusts {@code devices}' CA for client certificates; presents {@code identity} with the chain of {@code issuer}. */
        Server(TestPki devices, TestPki issuer, PkiService.Issued identity) throws Exception {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(identity.certificate());
            chain.addAll(issuer.ca.chain());
            SslContext ssl = TlsContexts.server(identity.keys().getPrivate(), chain).provider(SslProvider.OPENSSL)
                    .clientAuth(ClientAuth.REQUIRE).trust(devices.ca.chain())
                    .alpn(List.of(ApplicationProtocolNames.HTTP_2)).build();
            channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(ssl.newHandler(c.alloc()));
                            c.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                    if (evt instanceof SslHandshakeCompletionEvent e && e.isSuccess()) {
                                        TlsContexts.peerCertificate(ctx.pipeline()).ifPresent(clientCertificates::add);
                                    }
                                    ctx.fireUserEventTriggered(evt);
                                }
                            });
                            c.pipeline().addLast(Http2FrameCodecBuilder.forServer().build());
                            c.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                @Override
                                protected void initChannel(Http2StreamChannel s) {
                                    s.pipeline().addLast(new WhoAmI());
                                }
                            }));
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            port = ((InetSocketAddress) channel.localAddress()).getPort();
        }

        String url() {
            return "https://127.0.0.1:" + port;
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    /** Answers a request, once its body has come, with the client certificate's subject. */
    static final class WhoAmI extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean end = msg instanceof Http2HeadersFrame h && h.isEndStream() || msg instanceof Http2DataFrame d && d.isEndStream();
            ReferenceCountUtil.release(msg);
            if (end) {
                String subject = TlsContexts.peerCertificate(ctx.channel().parent().pipeline())
                        .map(c -> c.getSubjectX500Principal().getName()).orElse("none");
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("client " + subject, StandardCharsets.UTF_8), true));
            }
        }
    }

    // ---- helpers

    private static <T> T await(Future<T> f) throws Exception {
        assertThat(f.await(20, TimeUnit.SECONDS)).as("finished within 20 s").isTrue();
        if (!f.isSuccess()) {
            throw new AssertionError("failed: " + messages(f.cause()), f.cause());
        }
        return f.getNow();
    }

    /** Why {@link GatewayConnector#connect} failed: the refused handshake's own cause, not the close that follows it. */
    private static Throwable handshakeFailure(Server server, SslContext ssl) throws Exception {
        Future<Channel> connected = GatewayConnector.connect(group, URI.create(server.url()), ssl, java.time.Duration.ofSeconds(20));
        assertThat(connected.await(30, TimeUnit.SECONDS)).as("connect finished within 30 s").isTrue();
        assertThat(connected.isSuccess()).as("the handshake was refused").isFalse();
        return connected.cause();
    }

    /** Every message down the cause chain, for asserting on the one that says why. */
    private static String messages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(" <- ");
        }
        return b.toString();
    }
}
