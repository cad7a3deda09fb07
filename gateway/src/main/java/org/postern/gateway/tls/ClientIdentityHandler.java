package org.postern.gateway.tls;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.Executor;


import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditSink;
import org.postern.protocol.http.HttpReplies;
import org.postern.tls.TlsContexts;

/**
 * Decides once, after the TLS handshake, who the client is, and stores a {@link ClientIdentity}
 * in {@link ClientIdentity#KEY}. The chain was already checked inside the handshake by
 * {@link DeviceTrustManager} (device CA, validity, device profile, live revocations); this handler
 * asks {@link LiveRevocations} once more, in memory, so a device barred between that check and now
 * — or a view gone stale — is still refused: {@code tls.rejected} and the connection closes. Fail
 * closed.
 *
 * <p>No client certificate: no identity, the connection goes on (EST enrollment, CRL and OCSP need
 * none; CONNECT and posture answer 401 {@code tls.client_cert_required}). The decision needs no I/O,
 * so it is made on the event loop before any application data is passed on; then the handler
 * removes itself and the attribute stays for the handlers after it.
 */
public final class ClientIdentityHandler extends ChannelInboundHandlerAdapter {

    /** Reads the verified peer chain; the SslHandler's session in production, a stub in tests. */
    @FunctionalInterface
    interface PeerCertificates {
        /** The leaf certificate, or null when the client presented none. */
        @Nullable X509Certificate leaf(ChannelHandlerContext ctx);
    }

    private final LiveRevocations revocations;
    private final Rejections rejections;
    private final PeerCertificates peer;

    public ClientIdentityHandler(LiveRevocations revocations, AuditSink audit, Clock clock, Executor workers) {
        this(revocations, audit, clock, workers, ClientIdentityHandler::sslPeer);
    }

    ClientIdentityHandler(LiveRevocations revocations, AuditSink audit, Clock clock, Executor workers, PeerCertificates peer) {
        this.revocations = Objects.requireNonNull(revocations, "revocations");
        this.rejections = new Rejections(audit, clock, workers);
        this.peer = Objects.requireNonNull(peer, "peer");
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (!(evt instanceof SslHandshakeCompletionEvent done) || !done.isSuccess()) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        X509Certificate leaf = peer.leaf(ctx);
        if (leaf != null) {
            ClientIdentity identity = null;
            LiveRevocations.Refusal refusal;
            try {
                identity = ClientIdentity.of(leaf);
                refusal = revocations.refusal(identity.deviceId(), identity.serial());
            } catch (IllegalArgumentException e) {
                refusal = new LiveRevocations.Refusal("cert.not_device", e.getMessage());
            }
            if (refusal != null) {
                rejections.record(leaf, identity == null ? null : identity.deviceId(), HttpReplies.source(ctx), refusal);
                ctx.pipeline().remove(this);
                ctx.close();
                return;
            }
            ctx.channel().attr(ClientIdentity.KEY).set(identity);
        }
        ctx.fireUserEventTriggered(evt);
        ctx.pipeline().remove(this);
    }

    private static @Nullable X509Certificate sslPeer(ChannelHandlerContext ctx) {
        return TlsContexts.peerCertificate(ctx.pipeline()).orElse(null);
    }
}
