package org.postern.gateway.limits;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslHandler;
import org.postern.protocol.Reasons;

import org.jspecify.annotations.Nullable;

/**
 * {@code limits.headerTime}: a request head must be complete this long after the connection was
 * accepted (the TLS handshake counts) or after the previous answer was sent; otherwise
 * {@code 408 limits.header_time}, audited, and the connection closes. A client trickling one
 * header byte per second cannot hold a connection. The clock stops while a request is being
 * answered, and for good once a CONNECT is answered 200 (the tunnel's bytes are not HTTP; the relay
 * has its own idle timeout): then the handler leaves the pipeline. Sits right after the HTTP codec.
 */
public final class RequestHeadTimeoutHandler extends ChannelDuplexHandler {

    public static final String REASON = Reasons.LIMITS_HEADER_TIME.code();

    private final Duration limit;
    private final LimitAudit audit;
    private @Nullable ScheduledFuture<?> timer;
    private boolean connectPending;

    public RequestHeadTimeoutHandler(Duration limit, LimitAudit audit) {
        this.limit = limit;
        this.audit = audit;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        arm(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            disarm(); // the head is complete: the answer restarts the clock
            connectPending = HttpMethod.CONNECT.equals(req.method());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse res && connectPending && res.status().code() == 200) {
            ctx.write(msg, promise);
            ctx.pipeline().remove(this); // a tunnel now: no more request heads on this connection
            return;
        }
        // the end of an answer, not an interim 100 Continue: the next head may come now
        boolean answered = msg instanceof LastHttpContent
                && !(msg instanceof HttpResponse res && res.status().codeClass() == HttpStatusClass.INFORMATIONAL);
        ctx.write(msg, promise);
        if (answered) {
            promise.addListener((ChannelFutureListener) f -> {
                if (f.isSuccess() && f.channel().isActive() && ctx.pipeline().context(this) != null) {
                    arm(ctx);
                }
            });
        }
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        connectPending = false;
        timer = ctx.executor().schedule(() -> expired(ctx), limit.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void expired(ChannelHandlerContext ctx) {
        timer = null;
        if (!ctx.channel().isActive()) {
            return;
        }
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (tls != null && !tls.handshakeFuture().isDone()) { // no TLS yet, so no way to answer: just close
            audit.close(ctx, REASON, "TLS handshake not complete within " + limit.toMillis() + " ms (limits.headerTime)");
            return;
        }
        audit.refuse(ctx, HttpResponseStatus.REQUEST_TIMEOUT, REASON, "request head not received in time",
                "no complete request head within " + limit.toMillis() + " ms (limits.headerTime)");
    }
}
