package org.postern.gateway.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import javax.net.ssl.SSLPeerUnverifiedException;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.pki.ca.Fingerprints;
import org.postern.pki.http.HttpReplies;
import org.postern.pki.registry.CertStatus;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides once, after the TLS handshake, who the client is: reads the peer certificate, asks the
 * registry whether its device is active and its serial good, and stores a {@link ClientIdentity}
 * in {@link ClientIdentity#KEY}. No client certificate: no identity, the connection goes on (EST
 * enrollment, CRL and OCSP need none). A certificate the registry does not vouch for (unknown,
 * revoked, on hold, device not active, registry unreadable): a {@code tls.rejected} audit event and
 * the connection closes — fail closed.
 *
 * <p>The registry and the audit trail block, so the check runs on {@code workers}; application
 * data that arrives meanwhile is held and passed on, in order, once the identity is set. Then the
 * handler removes itself: the attribute stays on the channel for the handlers after it.
 */
public final class ClientIdentityHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ClientIdentityHandler.class);

    /** Reads the verified peer chain; the SslHandler's session in production, a stub in tests. */
    @FunctionalInterface
    interface PeerCertificates {
        /** The leaf certificate, or null when the client presented none. */
        X509Certificate leaf(ChannelHandlerContext ctx);
    }

    private final Registry registry;
    private final AuditSink audit;
    private final Clock clock;
    private final Executor workers;
    private final PeerCertificates peer;
    private final Queue<Object> held = new ArrayDeque<>();
    private boolean deciding;

    public ClientIdentityHandler(Registry registry, AuditSink audit, Clock clock, Executor workers) {
        this(registry, audit, clock, workers, ClientIdentityHandler::sslPeer);
    }

    ClientIdentityHandler(Registry registry, AuditSink audit, Clock clock, Executor workers, PeerCertificates peer) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.peer = Objects.requireNonNull(peer, "peer");
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess() && !deciding) {
            deciding = true;
            X509Certificate leaf = peer.leaf(ctx);
            if (leaf == null) {
                ctx.fireUserEventTriggered(evt);
                pass(ctx); // no client certificate: no identity, still served
                return;
            }
            String source = HttpReplies.source(ctx);
            ctx.channel().config().setAutoRead(false); // hold at most what is already in flight
            try {
                workers.execute(() -> {
                    Outcome outcome = check(leaf, source);
                    if (ctx.executor().inEventLoop()) {
                        apply(ctx, evt, outcome);
                    } else {
                        ctx.executor().execute(() -> apply(ctx, evt, outcome));
                    }
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
            held.add(msg); // until the identity is known, nothing behind us may see the request
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

    /** The registry's verdict on one certificate; {@code why} is set when it is refused. */
    private record Outcome(ClientIdentity identity, String subject, String serial, String sha256, String why) {
    }

    private Outcome check(X509Certificate leaf, String source) {
        String subject = leaf.getSubjectX500Principal().getName();
        String serial = leaf.getSerialNumber().toString(16);
        String sha256 = Fingerprints.sha256(leaf);
        String why;
        ClientIdentity identity = null;
        try {
            identity = ClientIdentity.of(leaf);
            why = refusal(identity);
        } catch (IllegalArgumentException e) {
            why = e.getMessage();
        } catch (RegistryException e) {
            why = "registry unavailable, failing closed: " + e.getMessage();
        } catch (RuntimeException e) {
            why = "cannot check the certificate, failing closed: " + e;
        }
        if (why == null) {
            return new Outcome(identity, subject, serial, sha256, null);
        }
        try {
            audit.record(AuditEvent.of("tls.rejected", clock.instant())
                    .with("device", identity == null ? null : identity.deviceId())
                    .with("subject", subject).with("certSerial", serial).with("certSha256", sha256)
                    .with("source", source).with("why", why).build());
        } catch (AuditUnavailableException e) {
            log.warn("tls.rejected for {} not recorded: {}", subject, e.getMessage());
        }
        return new Outcome(null, subject, serial, sha256, why);
    }

    /** Why the registry does not vouch for this identity, or null when it does. */
    private String refusal(ClientIdentity id) {
        Device device = registry.device(id.deviceId()).orElse(null);
        if (device == null) {
            return "device " + id.deviceId() + " is not in the registry";
        }
        if (device.status() != DeviceStatus.ACTIVE) {
            return "device " + id.deviceId() + ": expected status active, found " + device.status().wireName();
        }
        return switch (registry.status(id.serial())) {
            case CertStatus.Good good when id.deviceId().equals(good.certificate().deviceId()) -> null;
            case CertStatus.Good good -> "certificate " + id.serialHex() + ": issued to "
                    + (good.certificate().deviceId() == null ? "no device (" + good.certificate().kind() + ")"
                    : "device " + good.certificate().deviceId()) + ", presented as device " + id.deviceId();
            case CertStatus.Revoked r -> "certificate " + id.serialHex() + " is revoked (" + r.reason() + ") since "
                    + r.revokedAt();
            case CertStatus.Unknown u -> "certificate " + id.serialHex() + " is not in the registry";
        };
    }

    private void apply(ChannelHandlerContext ctx, Object evt, Outcome outcome) {
        if (ctx.isRemoved()) {
            return;
        }
        if (outcome.identity() == null) {
            log.debug("rejected client certificate {} ({}): {}", outcome.serial(), outcome.subject(), outcome.why());
            handlerRemoved(ctx);
            ctx.close();
            return;
        }
        ctx.channel().attr(ClientIdentity.KEY).set(outcome.identity());
        ctx.fireUserEventTriggered(evt);
        pass(ctx);
    }

    /** Lets held data through and steps out of the pipeline. */
    private void pass(ChannelHandlerContext ctx) {
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

    private static X509Certificate sslPeer(ChannelHandlerContext ctx) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return null;
        }
        try {
            Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
