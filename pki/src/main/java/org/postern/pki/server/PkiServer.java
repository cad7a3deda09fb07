package org.postern.pki.server;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.crl.CrlHandler;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.est.EstHandler;
import org.postern.protocol.http.HttpReplies;
import org.postern.protocol.http.NotFoundHandler;
import org.postern.pki.ocsp.OcspHandler;
import org.postern.pki.ocsp.OcspResponder;
import org.postern.tls.TlsContexts;
import org.postern.net.Transport;
import org.postern.config.TransportChoice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code postern pki serve}: the EST, CRL and OCSP handlers alone on a TLS listener. The gateway
 * mounts the same handlers on its tunnel port.
 */
public final class PkiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PkiServer.class);

    private final EventLoopGroup group;
    private final EventExecutorGroup blocking;
    private final Channel channel;

    private final ChannelGroup children;

    private PkiServer(EventLoopGroup group, EventExecutorGroup blocking, Channel channel, ChannelGroup children) {
        this.children = children;
        this.group = group;
        this.blocking = blocking;
        this.channel = channel;
    }

    public static PkiServer start(InetSocketAddress listen, SslContext tls, PkiService service, CertificateAuthority ca,
                                  CrlPublisher crl, OcspResponder ocsp) throws InterruptedException {
        Transport transport = Transport.choose(TransportChoice.AUTO); // pki.yaml has no transport setting: the best here
        EventLoopGroup group = transport.newGroup(0);
        EventExecutorGroup blocking = new DefaultEventExecutorGroup(Math.max(2, Runtime.getRuntime().availableProcessors()));
        int maxBody = Math.toIntExact(service.settings().enrollment().maxRequestSize().bytes());
        EstHandler est = new EstHandler(service, ca.chain(), blocking);
        CrlHandler crlHandler = new CrlHandler(crl, blocking);
        OcspHandler ocspHandler = new OcspHandler(ocsp, blocking);
        NotFoundHandler notFound = new NotFoundHandler();
        ChannelGroup children = new DefaultChannelGroup("pki-connections", GlobalEventExecutor.INSTANCE);
        try {
            Channel ch = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannel())
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            children.add(c);
                            ChannelPipeline p = c.pipeline();
                            // TLS 1.3; client certificate optional, checked against the device CA
                            p.addLast("tls", tls.newHandler(c.alloc()));
                            // a slow or silent client is dropped
                            p.addLast("timeout", new ReadTimeoutHandler(30, TimeUnit.SECONDS));
                            // HTTP/1.1 with bounded headers and body (413 above the limit, audited)
                            p.addLast("http", new HttpServerCodec(4096, 16 * 1024, 8192));
                            p.addLast("aggregate", new AuditedAggregator(maxBody, service));
                            // EST, CRL, OCSP: each takes its paths and works off the event loop
                            p.addLast("est", est);
                            p.addLast("crl", crlHandler);
                            p.addLast("ocsp", ocspHandler);
                            p.addLast("notFound", notFound);
                        }
                    })
                    .bind(listen).sync().channel();
            log.info("PKI listening on https://{} (TLS provider {}, transport {})", ch.localAddress(), TlsContexts.provider(),
                    transport);
            return new PkiServer(group, blocking, ch, children);
        } catch (Exception e) { // also a bind failure, a checked BindException that sync() rethrows undeclared
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            blocking.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    public void awaitClose() throws InterruptedException {
        channel.closeFuture().sync();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        // connections first, while every executor their pipelines use is still alive
        children.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        blocking.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /** The stock aggregator answers 413 on its own; this one also leaves an audit record. */
    private static final class AuditedAggregator extends HttpObjectAggregator {
        private final PkiService service;

        AuditedAggregator(int maxContentLength, PkiService service) {
            super(maxContentLength);
            this.service = service;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
            String type = oversized instanceof io.netty.handler.codec.http.HttpRequest r && r.uri().startsWith(EstHandler.PREFIX) ? "pki.enroll.denied" : "http.denied";
            service.refused(type, HttpReplies.source(ctx), "http.too_large", "request body over " + maxContentLength() + " bytes");
            super.handleOversizedMessage(ctx, oversized);
        }
    }
}
