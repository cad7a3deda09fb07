package org.postern.gateway.server;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import org.postern.audit.AuditSink;
import org.postern.gateway.limits.AuditedAggregator;
import org.postern.gateway.limits.BadRequestHandler;
import org.postern.gateway.limits.LimitAudit;
import org.postern.gateway.limits.PeerErrorHandler;
import org.postern.gateway.limits.RequestHeadTimeoutHandler;
import org.postern.gateway.limits.SourceLimitHandler;
import org.postern.gateway.charter.CharterHandler;
import org.postern.gateway.posture.PostureHandler;
import org.postern.gateway.proxy.ProxyStages;
import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.relay.ConnectHandler;
import org.postern.gateway.relay.Http2ConnectHandler;
import org.postern.gateway.vpn.ConnectIpAcceptor;
import org.postern.gateway.ssh.SshCertificateHandler;
import org.postern.gateway.tls.ClientIdentityHandler;
import org.postern.gateway.tls.LiveRevocations;
import org.postern.pki.crl.CrlHandler;
import org.postern.pki.est.EstHandler;
import org.postern.protocol.http.ClientAddress;
import org.postern.protocol.http.NotFoundHandler;
import org.postern.pki.ocsp.OcspHandler;
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
    /**
     * HTTP/2 window per stream: what one tunnel may have in flight towards the gateway, so also what
     * the gateway holds at most for a tunnel whose admin host stopped reading. A tunnel carries at
     * most a window per round trip: 1 MiB is 4 Gbit/s at 2 ms (loopback under load, a LAN) or
     * 100 Mbit/s at 80 ms; 128 KiB capped a tunnel at 0.5 Gbit/s at 2 ms.
     */
    static final int STREAM_WINDOW = 1024 * 1024;
    /**
     * HTTP/2 window per connection: what all its tunnels together may have in flight, the most a
     * laptop's connection makes the gateway hold. Sixteen stream windows, so that up to 15 stalled
     * tunnels do not stall the others; a device's flows ({@code limits.flowsPerDevice}) bound it
     * too, at a stream window each.
     */
    static final int CONNECTION_WINDOW = 16 * 1024 * 1024;
    /**
     * SETTINGS_MAX_FRAME_SIZE: the largest DATA frame the laptop may send. 64 KiB, a whole socket
     * read of the laptop's client, instead of the 16 KiB default: a quarter of the frames, frame
     * headers and reads of the stream channel per byte relayed (TLS records stay 16 KiB).
     */
    static final int MAX_FRAME_SIZE = 64 * 1024;
    /**
     * RST_STREAM frames the gateway may send on one connection in {@value #RST_WINDOW_SECONDS} s,
     * per stream it allows, before it closes the connection (Netty's guard for a server: 200 per
     * connection in all). Every DATA frame that arrives for a stream the gateway already ended (the
     * admin host reset the flow, idle, lease end) is answered with RST_STREAM STREAM_CLOSED, and a
     * laptop has up to a stream window in flight when the end reaches it: 64 frames of 16 KiB. With
     * 200, iperf3's eight streams ending against a resetting host closed the agent's whole
     * connection and every tunnel on it (docs/profile-h2-relay.md). A laptop that provokes more is
     * still cut; an answer costs the gateway a 13-byte frame.
     */
    static final int RST_PER_STREAM = STREAM_WINDOW / (16 * 1024);
    /** The window of the RST_STREAM guard above. */
    static final int RST_WINDOW_SECONDS = 30;

    /** The handlers every connection shares. */
    record Shared(EstHandler est, CrlHandler crl, OcspHandler ocsp, PostureHandler posture, ConnectHandler connect,
                  NotFoundHandler notFound, SshCertificateHandler sshCertificate, CharterHandler charter) {
    }

    /** The limit handlers ({@code limits.*}): shared ones, and what the per-connection ones need. */
    record Guards(SourceLimitHandler perSource, BadRequestHandler badRequest, LimitAudit audit, Duration headerTime,
                  PeerErrorHandler peerErrors) {
    }

    private final Supplier<SslContext> tls;
    private final LiveRevocations revocations;
    private final AuditSink audit;
    private final Clock clock;
    private final Executor workers;
    private final int maxHeaderSize;
    private final int maxBody;
    private final Shared shared;
    private final ChannelGroup children;
    private final Guards guards;
    private final ChannelHandler handshakeMetrics;
    private int streamsPerConnection = GatewaySettings.Limits.DEFAULT_STREAMS_PER_CONNECTION;
    private @Nullable ConnectIpAcceptor connectIp; // VPN mode (issue 13)
    private @Nullable ProxyStages proxy; // behind a load balancer (issue 14)

    GatewayInitializer(Supplier<SslContext> tls, ChannelHandler handshakeMetrics, LiveRevocations revocations,
                       AuditSink audit, Clock clock, Executor workers, int maxHeaderSize, int maxBody, Shared shared,
                       ChannelGroup children, Guards guards) {
        this.tls = tls;
        this.handshakeMetrics = handshakeMetrics;
        this.revocations = revocations;
        this.audit = audit;
        this.clock = clock;
        this.workers = workers;
        this.maxHeaderSize = maxHeaderSize;
        this.maxBody = maxBody;
        this.shared = shared;
        this.children = children;
        this.guards = guards;
    }

    /** Sets {@code limits.streamsPerConnection}: HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. */
    GatewayInitializer streamsPerConnection(int streams) {
        this.streamsPerConnection = streams;
        return this;
    }

    /**
     * VPN mode (issue 13): CONNECT-IP streams go to {@code acceptor}, and the HTTP/2 SETTINGS allow
     * extended CONNECT (RFC 8441 SETTINGS_ENABLE_CONNECT_PROTOCOL) so that the agent may send them.
     */
    GatewayInitializer connectIp(ConnectIpAcceptor acceptor) {
        this.connectIp = acceptor;
        return this;
    }

    /**
     * Behind a load balancer ({@code proxyProtocol.tunnel}): the PROXY v2 stages go first, and the
     * connection's stages follow once the client's address is known.
     */
    GatewayInitializer proxyProtocol(ProxyStages stages) {
        this.proxy = stages;
        return this;
    }

    @Override
    protected void initChannel(SocketChannel c) {
        children.add(c);
        if (proxy != null) {
            // a trusted proxy's PROXY v2 header names the client (ClientAddress); anyone else's is refused
            proxy.addTo(c, this::connection);
        } else {
            connection(c);
        }
    }

    /** The stages of a client's connection, once its address ({@link ClientAddress}) is known. */
    private void connection(Channel c) {
        ChannelPipeline p = c.pipeline();
        InetSocketAddress client = Objects.requireNonNull(ClientAddress.of(c), "a TCP connection has a peer");
        // at most limits.connectionsPerSource connections per source address, checked before TLS
        p.addLast("perSource", guards.perSource());
        // TLS 1.3; a client certificate is optional and, when present, is decided in the handshake
        // (DeviceTrustManager: device CA, live revocations); the client's address names it in tls.rejected
        // (the current context: a reload swaps it)
        p.addLast("tls", tls.get().newHandler(c.alloc(), client.getAddress().getHostAddress(), client.getPort()));
        // count the handshake, done or failed by cause (postern_tls_handshake*)
        p.addLast("tlsMetrics", handshakeMetrics);
        // until the handshake is done, a reset, a failed handshake or bytes that are not TLS close the
        // connection with one log line at most (rate-limited per source), never a stack trace
        p.addLast("peerErrors", guards.peerErrors());
        // who the client is: its device, unless barred since the handshake, else the connection closes
        p.addLast("identity", new ClientIdentityHandler(revocations, audit, clock, workers));
        // a request head within limits.headerTime of accept, else 408 (audited); the TLS handshake
        // counts. HTTP/1.1 puts its codec in front of it; HTTP/2 (its own framing) takes it out
        p.addLast("headTime", new RequestHeadTimeoutHandler(guards.headerTime(), guards.audit()));
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
                log.debug("TLS handshake with {} failed: {}", ClientAddress.source(ctx.channel()), cause.toString());
                ctx.close();
            }
        });
    }

    /** HTTP/1.1: one request at a time on the connection; a CONNECT turns the connection into the tunnel. */
    private void http1(ChannelPipeline p) {
        // HTTP/1.1 with bounded request line and headers (limits.headerSize), before the headTime stage
        p.addBefore("headTime", "http", new HttpServerCodec(4096, maxHeaderSize, 8192));
        // what the codec could not decode: 400, 414 or 431 (audited), then close
        p.addLast("badRequest", guards.badRequest());
        // CONNECT, from its head (no body, before the aggregator): the decoder goes at once, the bytes after
        // the head are the tunnel's; identity, lease, access policy, then the tunnel relay replaces the HTTP stages
        p.addLast("connect", shared.connect());
        // whole requests, bounded body (the EST request limit); over it 413 (audited)
        p.addLast("aggregate", new AuditedAggregator(maxBody, guards.audit()));
        // EST enrollment, CRL and OCSP, as on `postern pki serve`
        p.addLast("est", shared.est());
        p.addLast("crl", shared.crl());
        p.addLast("ocsp", shared.ocsp());
        // posture challenge and evidence: a compliant device gets a lease
        p.addLast("posture", shared.posture());
        // the remote-work charter: its text, and the device's acceptance (no lease needed)
        p.addLast("charter", shared.charter());
        // an OpenSSH user certificate for a device with a live lease, for the SSH bastion
        p.addLast("sshCertificate", shared.sshCertificate());
        // anything else: 404
        p.addLast("notFound", shared.notFound());
    }

    /** HTTP/2 (RFC 9113): each stream is a child channel; a CONNECT stream is one tunnel. */
    private void http2(ChannelPipeline p) {
        p.remove("headTime"); // HTTP/1.1 request heads only; the handshake finished in time
        // frames, HPACK and flow control; at most limits.streamsPerConnection streams open at once
        // (more are refused with RST_STREAM REFUSED_STREAM), header lists within limits.headerSize.
        // RST_STREAMs sent are capped at RST_PER_STREAM per allowed stream in RST_WINDOW_SECONDS, not
        // Netty's 200: each answers one DATA frame the laptop still had in flight on a stream whose
        // flow ended, and 200 closed honest laptops' connections. The cap on RST_STREAMs received stays.
        Http2FrameCodec h2 = Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(streamsPerConnection)
                        .maxHeaderListSize(maxHeaderSize)
                        .initialWindowSize(STREAM_WINDOW)
                        .maxFrameSize(MAX_FRAME_SIZE)
                        .connectProtocolEnabled(connectIp != null))
                .encoderEnforceMaxRstFramesPerWindow(RST_PER_STREAM * streamsPerConnection, RST_WINDOW_SECONDS)
                .build();
        // the streams' flushes within one turn of the event loop leave as one write to TLS
        p.addLast("flushes", new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
        p.addLast("h2", h2);
        widenConnectionWindow(h2);
        // one child channel per stream, each with the stream pipeline below
        p.addLast("streams", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                // CONNECT: the same gates as HTTP/1.1, then DATA frames are the tunnel; CONNECT-IP (VPN mode):
                // the acceptor; else the request stages
                stream.pipeline().addLast("connect", new Http2ConnectHandler(shared.connect(), GatewayInitializer.this::streamRequest,
                        connectIp));
            }
        }));
        // connection-level frames (SETTINGS, PING, GOAWAY) are released here; a reset connection closes quietly
        p.addLast("notFound", shared.notFound());
    }

    /** An ordinary request on an HTTP/2 stream: the same handlers as on HTTP/1.1. */
    private void streamRequest(ChannelPipeline p) {
        // HEADERS and DATA frames as HTTP/1.1 objects, so every endpoint has one implementation
        p.addLast("http", new Http2StreamFrameToHttpObjectCodec(true));
        // whole requests, bounded body (the EST request limit); over it 413 (audited)
        p.addLast("aggregate", new AuditedAggregator(maxBody, guards.audit()));
        // EST, CRL, OCSP, posture; anything else 404
        p.addLast("est", shared.est());
        p.addLast("crl", shared.crl());
        p.addLast("ocsp", shared.ocsp());
        p.addLast("posture", shared.posture());
        p.addLast("charter", shared.charter());
        // an OpenSSH user certificate for a device with a live lease (the bastion)
        p.addLast("sshCertificate", shared.sshCertificate());
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
