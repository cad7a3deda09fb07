package org.postern.gateway.metrics;

import java.nio.channels.ClosedChannelException;
import java.security.cert.CertificateException;
import java.util.Locale;
import java.util.Objects;

import javax.net.ssl.SSLPeerUnverifiedException;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import org.postern.gateway.metrics.GatewayMetrics.HandshakeFailure;

/**
 * Counts one TLS handshake per connection, completed or failed by cause, then steps out of the
 * pipeline. Sits right after the {@code SslHandler}; the event goes on to the handlers behind it.
 */
@ChannelHandler.Sharable
public final class HandshakeMetricsHandler extends ChannelInboundHandlerAdapter {

    private final GatewayMetrics metrics;
    private final String listener;

    /** @param listener the listener's name in the {@code listener} tag: {@code tunnel} or {@code admin} */
    public HandshakeMetricsHandler(GatewayMetrics metrics, String listener) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            metrics.handshake(listener, done.isSuccess() ? null : classify(done.cause()));
            ctx.pipeline().remove(this);
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** The label for why a handshake failed, from the exception types first and the alert text second. */
    static HandshakeFailure classify(Throwable cause) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = cause; t != null && text.length() < 4096; t = t.getCause()) {
            switch (t) {
                case NotSslRecordException e -> {
                    return HandshakeFailure.NOT_TLS;
                }
                case SslHandshakeTimeoutException e -> {
                    return HandshakeFailure.TIMEOUT;
                }
                case ClosedChannelException e -> {
                    return HandshakeFailure.CLOSED;
                }
                case CertificateException e -> {
                    return HandshakeFailure.CERTIFICATE;
                }
                case SSLPeerUnverifiedException e -> {
                    return HandshakeFailure.CERTIFICATE;
                }
                default -> text.append(' ').append(t.getMessage());
            }
            if (t.getCause() == t) {
                break;
            }
        }
        String m = text.toString().toLowerCase(Locale.ROOT);
        if (m.contains("certificate") || m.contains("unknown_ca") || m.contains("unknown ca")
                || m.contains("path") && m.contains("valid")) {
            return HandshakeFailure.CERTIFICATE;
        }
        if (m.contains("protocol") || m.contains("version") || m.contains("cipher") || m.contains("no_shared")) {
            return HandshakeFailure.PROTOCOL;
        }
        if (m.contains("closed") || m.contains("reset")) {
            return HandshakeFailure.CLOSED;
        }
        return HandshakeFailure.OTHER;
    }
}
