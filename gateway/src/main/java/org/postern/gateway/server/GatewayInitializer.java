package org.postern.gateway.server;

import java.time.Clock;
import java.util.concurrent.Executor;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import org.postern.audit.AuditSink;
import org.postern.gateway.posture.PostureHandler;
import org.postern.gateway.relay.ConnectHandler;
import org.postern.gateway.ssh.SshCertificateHandler;
import org.postern.gateway.tls.ClientIdentityHandler;
import org.postern.pki.crl.CrlHandler;
import org.postern.pki.est.EstHandler;
import org.postern.pki.http.NotFoundHandler;
import org.postern.pki.ocsp.OcspHandler;
import org.postern.pki.registry.Registry;

/**
 * The tunnel listener's pipeline, one stage per line (docs/pipeline.md). The sharable handlers are
 * built once by {@link GatewayServer} and passed in; the per-connection ones are made here.
 */
final class GatewayInitializer extends ChannelInitializer<SocketChannel> {

    /** The handlers every connection shares. */
    record Shared(EstHandler est, CrlHandler crl, OcspHandler ocsp, PostureHandler posture, ConnectHandler connect,
                  NotFoundHandler notFound, SshCertificateHandler sshCertificate) {
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

    @Override
    protected void initChannel(SocketChannel c) {
        children.add(c);
        ChannelPipeline p = c.pipeline();
        // TLS 1.3; a client certificate is optional and, when present, must chain to the device CA
        p.addLast("tls", tls.newHandler(c.alloc()));
        // who the client is: the registry must vouch for its certificate, else the connection closes
        p.addLast("identity", new ClientIdentityHandler(registry, audit, clock, workers));
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
        // an OpenSSH user certificate for a device with a live lease, for the SSH bastion
        p.addLast("sshCertificate", shared.sshCertificate());
        // CONNECT: identity, lease, access policy, then the tunnel relay replaces the HTTP stages
        p.addLast("connect", shared.connect());
        // anything else: 404
        p.addLast("notFound", shared.notFound());
    }
}
