package org.postern.gateway.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.gateway.tls.ClientIdentityHandler;
import org.postern.gateway.tls.LiveRevocations;
import org.postern.pki.PkiService;
import org.postern.protocol.http.NotFoundHandler;
import org.postern.pki.registry.RevocationReason;
import org.postern.tls.TlsContexts;
import org.postern.pki.testing.TestPki;

/**
 * The posture part of the tunnel listener over real TLS: a Netty server with the PKI's server TLS
 * (client certificate optional), the identity check and the posture endpoints, and the JDK
 * {@link HttpClient} presenting the device's key, as posture-agent does.
 */
class PostureEndToEndIT {
    static final ObjectMapper JSON = new ObjectMapper();

    final PostureFixture f = new PostureFixture();
    final ExecutorService workers = Executors.newFixedThreadPool(2);
    final LiveRevocations revocations = LiveRevocations.start(f.pki.registry, f.clock);
    EventLoopGroup group;
    Channel server;
    int port;

    @BeforeEach
    void start() throws Exception {
        PkiService.Issued tls = f.pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
        SslContext ssl = TlsContexts.server(tls.keys().getPrivate(), tls.certificate(), f.pki.ca.chain())
                .provider(TlsContexts.provider()).clientAuth(ClientAuth.OPTIONAL).trust(f.pki.ca.chain()).build();
        PostureHandler posture = new PostureHandler(f.service, workers);
        NotFoundHandler notFound = new NotFoundHandler();
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        ChannelPipeline p = c.pipeline();
                        p.addLast("tls", ssl.newHandler(c.alloc()));
                        p.addLast("identity", new ClientIdentityHandler(revocations, f.audit, f.clock, workers));
                        p.addLast("http", new HttpServerCodec());
                        p.addLast("aggregate", new HttpObjectAggregator(64 * 1024));
                        p.addLast("posture", posture);
                        p.addLast("notFound", notFound);
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close().sync();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
        workers.shutdownNow();
        revocations.close();
        f.close();
    }

    HttpClient client(TestPki.Enrolled device) throws Exception {
        TlsContexts.Client tls = TlsContexts.client().trust(List.of(f.pki.ca.root()));
        if (device != null) {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(device.certificate());
            chain.addAll(f.pki.ca.chain());
            tls.identity(device.keys().getPrivate(), chain);
        }
        SSLContext ctx = tls.jdk();
        return HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    HttpResponse<String> post(HttpClient client, String path, String type, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (type != null) {
            b.header("Content-Type", type);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void deviceWithClientCertificate_provesPostureAndGetsALease() throws Exception {
        try (HttpClient client = client(f.laptop)) {
            HttpResponse<String> c = post(client, PostureHandler.CHALLENGE_PATH, null, "");
            assertThat(c.statusCode()).isEqualTo(200);
            String nonce = JSON.readTree(c.body()).get("nonce").asText();

            String jws = f.evidence(f.laptop, nonce);
            HttpResponse<String> d = post(client, PostureHandler.EVIDENCE_PATH, "application/json",
                    "{\"evidence\":\"" + jws + "\"}");

            assertThat(d.statusCode()).isEqualTo(200);
            JsonNode decision = JSON.readTree(d.body());
            assertThat(decision.get("compliant").asBoolean()).isTrue();
            assertThat(decision.get("mode").asText()).isEqualTo("enforce");
            assertThat(f.leases.current("laptop-1")).isPresent();
            assertThat(f.audit.last("posture.decision").fields()).containsEntry("result", "compliant")
                    .containsEntry("device", "laptop-1");
        }
    }

    @Test
    void noClientCertificate_isServedButPostureIs401() throws Exception {
        try (HttpClient client = client(null)) {
            HttpResponse<String> r = post(client, PostureHandler.CHALLENGE_PATH, null, "");
            assertThat(r.statusCode()).isEqualTo(401);
            assertThat(r.headers().firstValue("Postern-Reason")).contains("tls.client_cert_required");
            assertThat(post(client, "/.well-known/est/cacerts", null, "").statusCode()).isEqualTo(404); // reached the pipeline's end
        }
    }

    @Test
    void revokedDevice_connectionClosedAndAudited() throws Exception {
        f.pki.service.revoke("laptop-1", RevocationReason.keyCompromise, "test");
        revocations.refresh(); // the poller would see it within 200 ms
        try (HttpClient client = client(f.laptop)) {
            assertThatThrownBy(() -> post(client, PostureHandler.CHALLENGE_PATH, null, "")).isInstanceOf(IOException.class);
        }
        // written on the workers, off the event loop
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(f.audit.last("tls.rejected").fields())
                        .containsEntry("why", "device laptop-1: expected status active, found revoked"));
        assertThat(f.challenges.size()).isZero();
    }
}
