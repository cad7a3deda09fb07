package org.postern.agent.session;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import org.postern.agent.key.DeviceKey;
import org.postern.agent.key.DeviceKeyStore;
import org.postern.agent.state.AgentHome;
import org.postern.config.agent.AgentSettings;
import org.postern.keys.SshPublicKeys;
import org.postern.net.Transport;
import org.postern.config.TransportChoice;

/**
 * The SSH bastion's host keys, asked of the gateway ({@code GET /v1/ssh/host-keys}) over the same kind
 * of connection the session uses: TLS 1.3 with the device key, trusting only the CA pinned at enrollment.
 * What comes back is therefore as trustworthy as the gateway itself, and the agent pins the bastion with
 * it ({@code postern-agent ssh-config} writes the known_hosts): no {@code ssh-keyscan}, no trust on first use.
 */
public final class BastionHostKeys {
    public static final String PATH = "/v1/ssh/host-keys";
    static final Duration TIMEOUT = Duration.ofSeconds(15);

    private BastionHostKeys() {
    }

    /**
     * Fetches the host keys, over the TLS engine {@code tls} ({@code tls.provider}). Fails with an
     * {@link IOException} saying why: not enrolled, the gateway unreachable or refusing, an answer
     * that is not OpenSSH public key lines.
     */
    public static List<PublicKey> fetch(AgentHome home, URI gateway, AgentSettings.Tls.Provider tls, TransportChoice transport,
                                        Map<String, String> env)
            throws IOException, InterruptedException {
        Transport t;
        try {
            t = Transport.choose(transport);
        } catch (IllegalStateException unavailable) {
            throw new IOException(unavailable.getMessage(), unavailable);
        }
        AgentHome.Enrollment e = home.enrollment()
                .orElseThrow(() -> new IOException("not enrolled: no enrollment record in " + home.dir()));
        X509Certificate cert = home.certificate();
        DeviceKey key = DeviceKeyStore.open(e.key(), env).current(cert);
        String authority = gateway.getHost() + ":" + (gateway.getPort() > 0 ? gateway.getPort() : 443);
        EventLoopGroup group = t.newGroup(1);
        try {
            Channel connection = await(GatewayConnector.connect(group, gateway, GatewayConnector.tls(e.caSha256(), key, cert, tls),
                    TIMEOUT), "connecting to " + authority);
            try {
                PostureExchange.Answer a = await(get(connection, authority), "asking " + authority + " for " + PATH);
                if (a.status() != 200) {
                    throw new IOException("the gateway answered " + a.status() + (a.reason() != null ? " " + a.reason() : "")
                            + " at " + PATH + ": " + a.body().strip());
                }
                return parse(a.body(), authority);
            } finally {
                connection.close();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** known_hosts lines for the bastion at host:port: {@code [host]:port key}, or {@code host key} on port 22. */
    public static String knownHosts(String host, int port, List<PublicKey> keys) {
        String name = port == 22 ? host : "[" + host + "]:" + port;
        StringBuilder b = new StringBuilder();
        keys.forEach(k -> b.append(name).append(' ').append(SshPublicKeys.line(k)).append('\n'));
        return b.toString();
    }

    static List<PublicKey> parse(String body, String authority) throws IOException {
        List<PublicKey> keys = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            try {
                keys.add(SshPublicKeys.parse(line.strip()));
            } catch (IllegalArgumentException ex) {
                throw new IOException("the gateway at " + authority + " answered " + PATH
                        + " with a line that is not an OpenSSH public key: " + ex.getMessage());
            }
        }
        if (keys.isEmpty()) {
            throw new IOException("the gateway at " + authority + " answered " + PATH + " with no host key");
        }
        return keys;
    }

    private static Future<PostureExchange.Answer> get(Channel connection, String authority) {
        Promise<PostureExchange.Answer> promise = connection.eventLoop().newPromise();
        new Http2StreamChannelBootstrap(connection).handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false));
                ch.pipeline().addLast(new HttpObjectAggregator(PostureExchange.MAX_RESPONSE));
                ch.pipeline().addLast(new SimpleChannelInboundHandler<FullHttpResponse>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                        promise.trySuccess(new PostureExchange.Answer(res.status().code(), res.headers().get("postern-reason"),
                                res.content().toString(StandardCharsets.UTF_8)));
                        ctx.close();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        promise.tryFailure(new IOException("the gateway closed the " + PATH + " stream before answering"));
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        promise.tryFailure(cause);
                        ctx.close();
                    }
                });
            }
        }).open().addListener((Future<Http2StreamChannel> f) -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, PATH);
            req.headers().set(HttpHeaderNames.HOST, authority);
            req.headers().set(HttpHeaderNames.ACCEPT, "text/plain");
            f.getNow().writeAndFlush(req).addListener(w -> {
                if (!w.isSuccess()) {
                    promise.tryFailure(w.cause());
                }
            });
        });
        return promise;
    }

    private static <T> T await(Future<T> f, String what) throws IOException, InterruptedException {
        if (!f.await(TIMEOUT.toMillis())) {
            f.cancel(false);
            throw new IOException(what + ": no answer within " + TIMEOUT.toSeconds() + " s");
        }
        if (!f.isSuccess()) {
            Throwable c = f.cause();
            throw new IOException(what + ": " + (c.getMessage() != null ? c.getMessage() : c.toString()), c);
        }
        return f.getNow();
    }
}
