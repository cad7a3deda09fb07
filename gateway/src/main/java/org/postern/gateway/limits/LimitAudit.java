package org.postern.gateway.limits;

import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.http.HttpReplies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes what the limit handlers refuse to the audit trail, on the workers (the trail blocks), and
 * answers the peer tersely: a status, the reason code in {@code Postern-Reason}, and the connection
 * closed. A refusal that cannot be recorded is logged; the peer is refused either way.
 */
public final class LimitAudit {

    private static final Logger LOG = LoggerFactory.getLogger(LimitAudit.class);

    private final AuditSink audit;
    private final Executor workers;
    private final Clock clock;

    public LimitAudit(AuditSink audit, Executor workers, Clock clock) {
        this.audit = Objects.requireNonNull(audit, "audit");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** An event of this type about a connection, with the device when its certificate is known. */
    AuditEvent.Builder event(String type, Channel ch, String source) {
        ClientIdentity id = ClientIdentity.of(ch).orElse(null);
        return AuditEvent.of(type, clock.instant())
                .with("device", id == null ? null : id.deviceId())
                .with("certSerial", id == null ? null : id.serialHex())
                .with("certSha256", id == null ? null : id.sha256())
                .with("source", source);
    }

    /** Records the event on a worker. */
    void record(AuditEvent event) {
        Runnable write = () -> {
            try {
                audit.record(event);
            } catch (AuditUnavailableException e) {
                LOG.error("{} {} could not be recorded: {}", event.type(), event.fields().get("reason"), e.getMessage());
            }
        };
        try {
            workers.execute(write);
        } catch (RejectedExecutionException e) {
            LOG.warn("{} {} not recorded: shutting down", event.type(), event.fields().get("reason"));
        }
    }

    /** {@code http.denied} recorded, then the status and reason to the peer, and the connection closed. */
    void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String reason, String message, String detail) {
        record(event("http.denied", ctx.channel(), HttpReplies.source(ctx))
                .with("reason", reason)
                .with("detail", detail)
                .build());
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(message + "\n", java.nio.charset.StandardCharsets.UTF_8));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.headers().set(HttpReplies.REASON_HEADER, reason);
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        // a peer that does not read cannot keep the connection by stalling the answer
        ctx.executor().schedule(() -> {
            ctx.close();
        }, 1, TimeUnit.SECONDS);
    }

    /** {@code http.denied} recorded and the connection closed without an answer (no HTTP spoken yet). */
    void close(ChannelHandlerContext ctx, String reason, String detail) {
        record(event("http.denied", ctx.channel(), HttpReplies.source(ctx))
                .with("reason", reason)
                .with("detail", detail)
                .build());
        ctx.close();
    }
}
