package org.postern.gateway.server;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executor;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import org.postern.audit.AuditSink;
import org.postern.gateway.posture.PostureHandler;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.relay.ConnectHandler;
import org.postern.gateway.relay.Http2ConnectHandler;
import org.postern.gateway.tls.ClientIdentityHandler;
import org.postern.pki.crl.CrlHandler;
import org.postern.pki.est.EstHandler;
import org.postern.pki.http.NotFoundHandler;
import org.postern.pki.ocsp.OcspHandler;
import org.postern.pki.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tunnel listener's pipeline, one stage per line (docs/pipeline.md). The sharable handlers are
 * built once by {@link GatewayServer} and passed in; the per-connection ones are made here.
 */
final class GatewayInitializer extends ChannelInitializer<SocketChannel> {
    private static final Logger log = LoggerFactory.getLogger(GatewayInitializer.class);

    /** What the tunnel listener offers by ALPN, in order of preference. */
    static final List<String> ALPN = List.of(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);
    /** HTTP/2 window per stream: what one tunnel may have in flight towards the gateway. */
    static final int STREAM_WINDOW = 128 * 1024;
    /** HTTP/2 window per connection: what all its tunnels together may have in flight. */
    static final int CONNECTION_WINDOW = 2 * 1024 * 1024;

    /** The handlers every connection shares. */
    record Shared(EstHandler est, CrlHandler crl, OcspHandler ocsp, PostureHandler posture, ConnectHandler connect,
                  NotFoundHandler notFound) {
    }

    private final SslContext tls;
    private final Registry registry;
    private final AuditSink audit;
    private final Clock clock;
    private final Executor workers;
    private final int maxHeaderSize;
    private final int maxBody;
    private final Shared shared;
    private final ChannelGroup children;
    private int streamsPerConnection = GatewaySettings.Limits.DEFAULT_STREAMS_PER_CONNECTION;

    GatewayInitializer(SslContext tls, Registry registry, AuditSink audit, Clock clock, Executor workers,
                       int maxHeaderSize, int maxBody, Shared shared, ChannelGroup children) {
        this.tls = tls;
        this.registry = registry;
        this.audit = audit;
        this.clock = clock;
        this.workers = workers;
        this.maxHeaderSize = maxHeaderSize;
        this.maxBody = maxBody;
        this.shared = shared;
        this.children = children;
    }

    /** Sets {@code limits.streamsPerConnection}: HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. */
    GatewayInitializer streamsPerConnection(int streams) {
        this.streamsPerConnection = streams;
        return this;
    }

    @Override
    protected void initChannel(SocketChannel c) {
        children.add(c);
        ChannelPipeline p = c.pipeline();
        // TLS 1.3; a client certificate is optional and, when present, must chain to the device CA
        p.addLast("tls", tls.newHandler(c.alloc()));
        // who the client is: the registry must vouch for its certificate, else the connection closes
        p.addLast("identity", new ClientIdentityHandler(registry, audit, clock, workers));
        // ALPN, once the identity is known: h2, or HTTP/1.1 (also when the client offered nothing)
        p.addLast("alpn", new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
            @Override
            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                    http2(ctx.pipeline());
                } else {
                    http1(ctx.pipeline());
                }
            }

            @Override
            protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
                log.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
                ctx.close();
            }
        });
    }

    /** HTTP/1.1: one request at a time on the connection; a CONNECT turns the connection into the tunnel. */
    private void http1(ChannelPipeline p) {
        // HTTP/1.1 with bounded request line and headers (limits.headerSize)
        p.addLast("http", new HttpServerCodec(4096, maxHeaderSize, 8192));
        // whole requests, bounded body (the EST request limit)
        p.addLast("aggregate", new HttpObjectAggregator(maxBody));
        // EST enrollment, CRL and OCSP, as on `postern pki serve`
        p.addLast("est", shared.est());
        p.addLast("crl", shared.crl());
        p.addLast("ocsp", shared.ocsp());
        // posture challenge and evidence: a compliant device gets a lease
        p.addLast("posture", shared.posture());
        // CONNECT: identity, lease, access policy, then the tunnel relay replaces the HTTP stages
        p.addLast("connect", shared.connect());
        // anything else: 404
        p.addLast("notFound", shared.notFound());
    }

    /** HTTP/2 (RFC 9113): each stream is a child channel; a CONNECT stream is one tunnel. */
    private void http2(ChannelPipeline p) {
        // frames, HPACK and flow control; at most limits.streamsPerConnection streams open at once
        // (more are refused with RST_STREAM REFUSED_STREAM), header lists within limits.headerSize
        Http2FrameCodec h2 = Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(streamsPerConnection)
                        .maxHeaderListSize(maxHeaderSize)
                        .initialWindowSize(STREAM_WINDOW))
                .build();
        p.addLast("h2", h2);
        widenConnectionWindow(h2);
        // one child channel per stream, each with the stream pipeline below
        p.addLast("streams", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                // CONNECT: the same gates as HTTP/1.1, then DATA frames are the tunnel; else the request stages
                stream.pipeline().addLast("connect", new Http2ConnectHandler(shared.connect(), GatewayInitializer.this::streamRequest));
            }
        }));
    }

    /** An ordinary request on an HTTP/2 stream: the same handlers as on HTTP/1.1. */
    private void streamRequest(ChannelPipeline p) {
        // HEADERS and DATA frames as HTTP/1.1 objects, so every endpoint has one implementation
        p.addLast("http", new Http2StreamFrameToHttpObjectCodec(true));
        // whole requests, bounded body (the EST request limit)
        p.addLast("aggregate", new HttpObjectAggregator(maxBody));
        // EST, CRL, OCSP, posture; anything else 404
        p.addLast("est", shared.est());
        p.addLast("crl", shared.crl());
        p.addLast("ocsp", shared.ocsp());
        p.addLast("posture", shared.posture());
        p.addLast("notFound", shared.notFound());
    }

    /**
     * The connection window starts at 64 KiB, as small as one stream's; widened so that a few
     * stalled tunnels do not stall the others. What a connection can make the gateway hold is still
     * bounded by it: bytes are given back to the window only once they were written onwards.
     */
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
