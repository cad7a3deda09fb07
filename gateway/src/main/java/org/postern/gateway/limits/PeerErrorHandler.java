package org.postern.gateway.limits;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Executor;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AttributeKey;
import org.postern.protocol.http.ClientAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Right behind the TLS stage of a listener, until the handshake is done: takes every exception the
 * connection raises there (a reset, a broken pipe, a failed handshake, bytes that are not TLS) so it
 * reaches neither the ALPN handler nor the end of the pipeline, which both log it as a WARN with its
 * stack trace. Instead: the connection closes, and one line at most is logged for it — INFO without
 * a stack trace for what peers cause (network and TLS errors, undecodable input), WARN with the
 * stack trace for anything else (a bug). From one source address only the first
 * {@link SourceBudget#perWindow} lines a minute are logged; when the minute ends one line counts the
 * rest. After a successful handshake the handler leaves: the stages after it handle their own errors.
 * Sharable, one per listener; {@link #close} logs the open counts.
 */
@ChannelHandler.Sharable
public final class PeerErrorHandler extends ChannelInboundHandlerAdapter implements AutoCloseable {

    public static final int PER_MINUTE = 5;
    private static final Logger LOG = LoggerFactory.getLogger(PeerErrorHandler.class);
    private static final AttributeKey<Boolean> LOGGED = AttributeKey.valueOf(PeerErrorHandler.class, "logged");

    private final String listener;
    private final SourceBudget<String> budget;

    /** For the listener named {@code listener} ({@code tunnel}, {@code admin}). */
    public PeerErrorHandler(String listener, Executor workers) {
        this(listener, Ticker.systemTicker(), workers, Scheduler.systemScheduler());
    }

    PeerErrorHandler(String listener, Ticker ticker, Executor executor, Scheduler scheduler) {
        this.listener = listener;
        this.budget = new SourceBudget<>(PER_MINUTE, Duration.ofMinutes(1), 10_000, ticker, executor, scheduler,
                (source, more, over) -> LOG.info("{}: {} more connections from {} closed on errors in the last {}s "
                        + "(the first {} a minute from a source are logged)", listener, more, source,
                        Math.max(1, over.toSeconds()), PER_MINUTE));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        InetSocketAddress remote = ClientAddress.of(ctx.channel());
        ctx.close();
        if (ctx.channel().attr(LOGGED).setIfAbsent(Boolean.TRUE) != null) {
            return; // one line per connection: what follows the first error is its consequence
        }
        String peer = ClientAddress.ip(ctx.channel());
        if (!budget.admit(peer)) {
            return;
        }
        int port = remote != null ? remote.getPort() : 0;
        if (expected(cause)) {
            LOG.info("{}: connection from {}:{} closed: {}", listener, peer, port, describe(cause));
        } else {
            LOG.warn("{}: connection from {}:{} closed on an unexpected error", listener, peer, port, cause);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
            ctx.pipeline().remove(this);
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * What any peer can cause: I/O errors (reset, broken pipe, closed channel — {@code SSLException}
     * is one too), input the decoders refuse (not TLS, a bad record), HTTP/2 protocol errors.
     */
    static boolean expected(Throwable cause) {
        return cause instanceof IOException || cause instanceof DecoderException || cause instanceof Http2Exception;
    }

    /** The innermost cause, in one line. */
    static String describe(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(root.getMessage()).replaceAll("\\p{Cntrl}", " ");
        return root.getClass().getSimpleName() + ": " + (message.length() > 200 ? message.substring(0, 200) + "…" : message);
    }

    /** Logs the count of every open window (shutdown). */
    @Override
    public void close() {
        budget.close();
    }

    /** Ends the windows that are over now (tests). */
    void cleanUp() {
        budget.cleanUp();
    }
}
