package org.postern.gateway.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import org.postern.gateway.admin.AdminIdentity;
import org.postern.protocol.http.HttpReplies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console on the admin listener (docs/console.md): {@code /} and {@code /console/…}; every
 * other path goes on to the JSON API. The connection's admin certificate was accepted by
 * {@code AdminIdentityHandler}; a refused one is left to the API, which answers 403 and closes.
 *
 * <p>Pages render on the workers (registry and trail reads block). Every response carries a strict
 * Content-Security-Policy (no script at all, no inline style), {@code frame-ancestors 'none'}, HSTS
 * and {@code no-store}. A POST changes state only when the admin is a {@code security-admin}, the
 * form carries this admin's CSRF token, and the browser does not say the request came from another
 * site; everything else is refused 403 and audited ({@link ConsoleActions}).
 */
@ChannelHandler.Sharable
public final class ConsoleHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConsoleHandler.class);

    static final String PREFIX = "/console";
    static final String HOME = PREFIX + "/";
    static final String STYLESHEET = PREFIX + "/static/console.css";

    /** No script, no inline style, nothing from elsewhere, never in a frame. */
    static final String CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'";

    /** Requests of a connection waiting for the one being answered (HTTP/1.1 pipelining), at most {@link #MAX_WAITING}. */
    private static final AttributeKey<Queue<FullHttpRequest>> WAITING = AttributeKey.valueOf(ConsoleHandler.class, "waiting");
    private static final AttributeKey<Boolean> BUSY = AttributeKey.valueOf(ConsoleHandler.class, "busy");
    /** Set once a download's head was sent: a failure then closes the connection instead of answering 500. */
    static final AttributeKey<Boolean> STREAMING = AttributeKey.valueOf(ConsoleHandler.class, "streaming");
    static final int MAX_WAITING = 8;

    private final ConsoleRoutes routes;
    private final byte[] stylesheet;

    public ConsoleHandler(ConsoleServices services) {
        this.routes = new ConsoleRoutes(Objects.requireNonNull(services, "services"));
        this.stylesheet = resource("console.css");
    }

    /** Whether {@code path} is the console's. */
    static boolean owns(String path) {
        return path.equals("/") || path.equals(PREFIX) || path.startsWith(HOME);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ctx.fireChannelRead(msg);
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        AdminIdentity who = ctx.channel().attr(AdminIdentity.KEY).get();
        if (!owns(path) || who == null) {
            ctx.fireChannelRead(msg); // the API: its endpoints, and the 403 of a refused certificate
            return;
        }
        if (path.equals("/") || path.equals(PREFIX)) {
            try {
                FullHttpResponse res = response(HttpResponseStatus.SEE_OTHER, "text/plain; charset=utf-8", new byte[0]);
                res.headers().set(HttpHeaderNames.LOCATION, HOME);
                HttpReplies.send(ctx, req, res);
            } finally {
                req.release();
            }
            return;
        }
        if (path.equals(STYLESHEET) && HttpMethod.GET.equals(req.method())) {
            try {
                FullHttpResponse res = response(HttpResponseStatus.OK, "text/css; charset=utf-8", stylesheet);
                res.headers().set(HttpHeaderNames.CACHE_CONTROL, "private, max-age=3600"); // no data in it
                HttpReplies.send(ctx, req, res);
            } finally {
                req.release();
            }
            return;
        }
        // one request of a connection at a time, answered in order: a pipelined request waits here
        Queue<FullHttpRequest> waiting = ctx.channel().attr(WAITING).setIfAbsent(new ArrayDeque<>());
        waiting = waiting == null ? ctx.channel().attr(WAITING).get() : waiting;
        if (Boolean.TRUE.equals(ctx.channel().attr(BUSY).get())) {
            if (waiting.size() >= MAX_WAITING) {
                req.release();
                ctx.close(); // a client that piles requests up is not a browser
                return;
            }
            waiting.add(req);
            return;
        }
        dispatch(ctx, req, who, path);
    }

    /** Runs one request on the console's workers; the next waiting one starts when its answer is written. */
    private void dispatch(ChannelHandlerContext ctx, FullHttpRequest req, AdminIdentity who, String path) {
        ctx.channel().attr(BUSY).set(true);
        ctx.channel().config().setAutoRead(false);
        String source = HttpReplies.source(ctx);
        try {
            routes.workers().execute(() -> {
                try {
                    ConsoleRoutes.Reply reply = routes.handle(who, source, req, ctx);
                    if (reply != null) {
                        respond(ctx, req, reply);
                    }
                } catch (RuntimeException e) {
                    log.error("console {} {} failed", req.method(), path, e);
                    if (!Boolean.TRUE.equals(ctx.channel().attr(STREAMING).get())) {
                        respond(ctx, req, routes.failure());
                    } else {
                        ctx.close(); // a download cut short must not look complete
                    }
                } finally {
                    ReferenceCountUtil.release(req);
                    ctx.executor().execute(() -> next(ctx)); // after the answer's writes, which were queued first
                }
            });
        } catch (RejectedExecutionException e) {
            if (routes.shutDown()) {
                req.release();
                ctx.close();
                return;
            }
            respond(ctx, req, routes.busy()); // every console worker busy and the queue full: 503, try again
            req.release();
            ctx.executor().execute(() -> next(ctx));
        }
    }

    /** On the event loop: the next waiting request, or reading again. */
    private void next(ChannelHandlerContext ctx) {
        ctx.channel().attr(BUSY).set(false);
        ctx.channel().attr(STREAMING).set(false);
        Queue<FullHttpRequest> waiting = ctx.channel().attr(WAITING).get();
        FullHttpRequest req = waiting == null ? null : waiting.poll();
        if (req == null) {
            ctx.channel().config().setAutoRead(true);
            return;
        }
        if (!ctx.channel().isActive()) {
            req.release();
            next(ctx);
            return;
        }
        dispatch(ctx, req, ctx.channel().attr(AdminIdentity.KEY).get(), new QueryStringDecoder(req.uri()).path());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Queue<FullHttpRequest> waiting = ctx.channel().attr(WAITING).get();
        if (waiting != null) {
            FullHttpRequest r;
            while ((r = waiting.poll()) != null) {
                r.release();
            }
        }
        ctx.fireChannelInactive();
    }

    /** Sends a rendered reply with the console's headers; on any thread. */
    static void respond(ChannelHandlerContext ctx, FullHttpRequest req, ConsoleRoutes.Reply reply) {
        FullHttpResponse res = response(reply.status(), reply.contentType(), reply.body());
        reply.headers().forEach((k, v) -> res.headers().set(k, v));
        boolean close = reply.close();
        ctx.executor().execute(() -> {
            if (close) {
                HttpUtil.setContentLength(res, res.content().readableBytes());
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            } else {
                HttpReplies.send(ctx, req, res);
            }
        });
    }

    /** The head of a streamed download (chunked), with the console's headers. */
    static HttpResponse streamHead(String contentType, String filename) {
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        secure(res.headers());
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        res.headers().set(HttpHeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"" + filename + "\"");
        HttpUtil.setTransferEncodingChunked(res, true);
        return res;
    }

    static FullHttpResponse response(HttpResponseStatus status, String type, byte[] body) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        secure(res.headers());
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        return res;
    }

    /** The headers every console response carries. */
    static void secure(HttpHeaders h) {
        h.set("Content-Security-Policy", CSP);
        h.set("Strict-Transport-Security", "max-age=31536000");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("X-Frame-Options", "DENY");
        h.set("Referrer-Policy", "no-referrer");
        h.set("Cross-Origin-Opener-Policy", "same-origin");
        h.set("Cross-Origin-Resource-Policy", "same-origin");
        h.set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    }

    private static byte[] resource(String name) {
        try (InputStream in = ConsoleHandler.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("console resource " + name + " missing from the build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
