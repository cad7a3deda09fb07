package org.postern.gateway.admin;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;


import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.keys.Fingerprints;
import org.postern.protocol.http.HttpReplies;
import org.postern.pki.registry.CertStatus;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.tls.TlsContexts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides once per admin connection, after the TLS handshake (which already required a client
 * certificate chaining to the CA), whether that certificate is a good admin certificate: a role
 * URI, and the registry knows it as an {@code admin} certificate that is not revoked. The verdict
 * goes into {@link AdminIdentity#KEY} or, when refused, {@link #REFUSED}: the API answers every
 * request of a refused connection with 403 and closes it. A refusal is audited as
 * {@code admin.rejected} with the detail. The registry and the trail block, so the check runs on
 * the workers while the connection holds its reads; then the handler steps out.
 */
public final class AdminIdentityHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AdminIdentityHandler.class);

    /** Why the connection's certificate was refused (for the log); set instead of {@link AdminIdentity#KEY}. */
    public static final AttributeKey<String> REFUSED = AttributeKey.valueOf(AdminIdentityHandler.class, "refused");

    private final Registry registry;
    private final AuditSink audit;
    private final Clock clock;
    private final Executor workers;
    private final Queue<Object> held = new ArrayDeque<>();
    private boolean deciding;

    public AdminIdentityHandler(Registry registry, AuditSink audit, Clock clock, Executor workers) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.workers = Objects.requireNonNull(workers, "workers");
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess() && !deciding) {
            deciding = true;
            X509Certificate leaf = peer(ctx);
            String source = HttpReplies.source(ctx);
            ctx.channel().config().setAutoRead(false);
            try {
                workers.execute(() -> {
                    Object verdict = check(leaf, source);
                    ctx.executor().execute(() -> apply(ctx, evt, verdict));
                });
            } catch (RejectedExecutionException e) {
                ctx.close(); // shutting down
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (deciding) {
            held.add(msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        Object msg;
        while ((msg = held.poll()) != null) {
            ReferenceCountUtil.release(msg);
        }
    }

    /** An {@link AdminIdentity}, or the reason (String) the certificate is refused. */
    private Object check(X509Certificate leaf, String source) {
        if (leaf == null) {
            return "no client certificate"; // the TLS context requires one; defence in depth
        }
        String why;
        AdminIdentity identity = null;
        try {
            identity = AdminIdentity.of(leaf);
            why = refusal(leaf);
        } catch (IllegalArgumentException e) {
            why = e.getMessage();
        } catch (RegistryException e) {
            why = "registry unavailable, failing closed: " + e.getMessage();
        } catch (RuntimeException e) {
            why = "cannot check the certificate, failing closed: " + e;
        }
        if (why == null) {
            return identity;
        }
        try {
            audit.record(AuditEvent.of("admin.rejected", clock.instant())
                    .with("admin", identity == null ? null : identity.name())
                    .with("role", identity == null ? null : identity.role().wireName())
                    .with("subject", AuditEvent.peerText(leaf.getSubjectX500Principal().getName()))
                    .with("certSerial", leaf.getSerialNumber().toString(16))
                    .with("certSha256", Fingerprints.sha256(leaf))
                    .with("source", source).with("why", why).build());
        } catch (AuditUnavailableException e) {
            log.warn("admin.rejected for {} not recorded: {}", leaf.getSubjectX500Principal(), e.getMessage());
        }
        return why;
    }

    /** Why the registry does not vouch for this admin certificate, or null when it does. */
    private @Nullable String refusal(X509Certificate leaf) {
        String serial = leaf.getSerialNumber().toString(16);
        return switch (registry.status(leaf.getSerialNumber())) {
            case CertStatus.Good g when g.certificate().kind() == CertificateRecord.Kind.admin -> null;
            case CertStatus.Good g -> "certificate " + serial + ": expected an admin certificate, found a "
                    + g.certificate().kind() + " certificate";
            case CertStatus.Revoked r -> "certificate " + serial + " is revoked (" + r.reason() + ") since " + r.revokedAt();
            case CertStatus.Unknown u -> "certificate " + serial + " is not in the registry";
        };
    }

    private void apply(ChannelHandlerContext ctx, Object evt, Object verdict) {
        if (ctx.isRemoved()) {
            return;
        }
        if (verdict instanceof AdminIdentity identity) {
            ctx.channel().attr(AdminIdentity.KEY).set(identity);
        } else {
            log.debug("admin connection from {} refused: {}", HttpReplies.source(ctx), verdict);
            ctx.channel().attr(REFUSED).set((String) verdict);
        }
        ctx.fireUserEventTriggered(evt);
        deciding = false;
        ctx.channel().config().setAutoRead(true);
        Object msg;
        boolean any = false;
        while ((msg = held.poll()) != null) {
            ctx.fireChannelRead(msg);
            any = true;
        }
        if (any) {
            ctx.fireChannelReadComplete();
        }
        ctx.pipeline().remove(this);
    }

    private static @Nullable X509Certificate peer(ChannelHandlerContext ctx) {
        return TlsContexts.peerCertificate(ctx.pipeline()).orElse(null);
    }
}
