package org.postern.pki.crl;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.Executor;

import org.postern.protocol.http.BlockingHttpHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.postern.protocol.http.HttpReplies;

/** {@code GET /pki/crl}: the current CRL, DER, {@code application/pkix-crl}. Other paths pass on. */
@ChannelHandler.Sharable
public final class CrlHandler extends BlockingHttpHandler {
    public static final String PATH = "/pki/crl";

    private final CrlPublisher publisher;

    public CrlHandler(CrlPublisher publisher, Executor workers) {
        super(workers);
        this.publisher = publisher;
    }

    @Override
    protected boolean accepts(FullHttpRequest req) {
        return path(req).equals(PATH);
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        try {
            if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
                HttpReplies.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "http.method", "use GET");
                return;
            }
            HttpReplies.send(ctx, req, HttpResponseStatus.OK, "application/pkix-crl", publisher.current().der());
        } catch (RuntimeException e) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "crl.unavailable", "CRL unavailable");
        }
    }
}
