package org.postern.gateway.server;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executor;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import org.postern.audit.AuditSink;
import org.postern.gateway.limits.AuditedAggregator;
import org.postern.gateway.limits.BadRequestHandler;
import org.postern.gateway.limits.LimitAudit;
import org.postern.gateway.limits.RequestHeadTimeoutHandler;
import org.postern.gateway.limits.SourceLimitHandler;
import org.postern.gateway.posture.PostureHandler;
import org.postern.gateway.relay.ConnectHandler;
import org.postern.gateway.tls.ClientIdentityHandler;
import org.postern.gateway.tls.LiveRevocations;
import org.postern.pki.crl.CrlHandler;
import org.postern.pki.est.EstHandler;
import org.postern.pki.http.NotFoundHandler;
import org.postern.pki.ocsp.OcspHandler;

/**
 * The tunnel listener's pipeline, one stage per line (docs/pipeline.md). The sharable handlers are
 * built once by {@link GatewayServer} and passed in; the per-connection ones are made here.
 */
final class GatewayInitializer extends ChannelInitializer<SocketChannel> {

    /** The handlers every connection shares. */
    record Shared(EstHandler est, CrlHandler crl, OcspHandler ocsp, PostureHandler posture, ConnectHandler connect,
                  NotFoundHandler notFound) {
    }

    /** The limit handlers ({@code limits.*}): shared ones, and what the per-connection ones need. */
    record Guards(SourceLimitHandler perSource, BadRequestHandler badRequest, LimitAudit audit, Duration headerTime) {
    }

    private final SslContext tls;
    private final LiveRevocations revocations;
    private final AuditSink audit;
    private final Clock clock;
    private final Executor workers;
    private final int maxHeaderSize;
    private final int maxBody;
    private final Shared shared;
    private final ChannelGroup children;
    private final Guards guards;

    GatewayInitializer(SslContext tls, LiveRevocations revocations, AuditSink audit, Clock clock, Executor workers,
                       int maxHeaderSize, int maxBody, Shared shared, ChannelGroup children, Guards guards) {
        this.tls = tls;
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

    @Override
    protected void initChannel(SocketChannel c) {
        children.add(c);
        ChannelPipeline p = c.pipeline();
        // at most limits.connectionsPerSource connections per source address, checked before TLS
        p.addLast("perSource", guards.perSource());
        // TLS 1.3; a client certificate is optional and, when present, is decided in the handshake
        // (DeviceTrustManager: device CA, live revocations); the peer address names it in tls.rejected
        p.addLast("tls", tls.newHandler(c.alloc(), c.remoteAddress().getAddress().getHostAddress(), c.remoteAddress().getPort()));
        // who the client is: its device, unless barred since the handshake, else the connection closes
        p.addLast("identity", new ClientIdentityHandler(revocations, audit, clock, workers));
        // HTTP/1.1 with bounded request line and headers (limits.headerSize)
        p.addLast("http", new HttpServerCodec(4096, maxHeaderSize, 8192));
        // a request head within limits.headerTime, else 408 (audited)
        p.addLast("headTime", new RequestHeadTimeoutHandler(guards.headerTime(), guards.audit()));
        // what the codec could not decode: 400, 414 or 431 (audited), then close
        p.addLast("badRequest", guards.badRequest());
        // whole requests, bounded body (the EST request limit); over it 413 (audited)
        p.addLast("aggregate", new AuditedAggregator(maxBody, guards.audit()));
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
}
