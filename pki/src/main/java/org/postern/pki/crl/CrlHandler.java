package org.postern.pki.crl;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.postern.pki.http.HttpReplies;

/** {@code GET /pki/crl}: the current CRL, DER, {@code application/pkix-crl}. Other paths pass on. */
@ChannelHandler.Sharable
public final class CrlHandler extends ChannelInboundHandlerAdapter {
    public static final String PATH = "/pki/crl";

    private final CrlPublisher publisher;

    public CrlHandler(CrlPublisher publisher) {
        this.publisher = publisher;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req) || !req.uri().equals(PATH)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
                HttpReplies.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "http.method", "use GET");
                return;
            }
            HttpReplies.send(ctx, req, HttpResponseStatus.OK, "application/pkix-crl", publisher.current().der());
        } catch (RuntimeException e) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "crl.unavailable", "CRL unavailable");
        } finally {
            req.release();
        }
    }
}
