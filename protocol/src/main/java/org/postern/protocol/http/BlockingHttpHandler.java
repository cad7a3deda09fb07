package org.postern.protocol.http;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;

/**
 * A handler whose work blocks (signing, registry writes) and so runs on a worker executor, not
 * the event loop. While a request is being answered the connection stops reading, so answers
 * keep their order and a client cannot queue unbounded work. Requests this handler does not
 * {@link #accepts accept} pass on unchanged.
 */
public abstract class BlockingHttpHandler extends ChannelInboundHandlerAdapter {
    private final Executor workers;

    protected BlockingHttpHandler(Executor workers) {
        this.workers = workers;
    }

    /** Whether this request is for this handler; called on the event loop, so it must be cheap. */
    protected abstract boolean accepts(FullHttpRequest req);

    /** Answers the request, on a worker thread; the request is released afterwards. */
    protected abstract void handle(ChannelHandlerContext ctx, FullHttpRequest req);

    @Override
    public final void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req) || !accepts(req)) {
            ctx.fireChannelRead(msg);
            return;
        }
        ctx.channel().config().setAutoRead(false);
        try {
            workers.execute(() -> {
                try {
                    handle(ctx, req);
                } finally {
                    req.release();
                    ctx.channel().config().setAutoRead(true);
                }
            });
        } catch (RejectedExecutionException e) {
            req.release();
            ctx.close(); // shutting down
        }
    }

    /** The request path without its query string. */
    protected static String path(FullHttpRequest req) {
        String uri = req.uri();
        int q = uri.indexOf('?');
        return q >= 0 ? uri.substring(0, q) : uri;
    }
}
