package org.postern.pki.ocsp;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.Executor;

import org.postern.protocol.http.BlockingHttpHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.postern.protocol.http.HttpReplies;

/**
 * OCSP over HTTP (RFC 6960 Appendix A): {@code POST /pki/ocsp} with a DER request, or
 * {@code GET /pki/ocsp/<url-encoded base64 request>}. Answers are {@code application/ocsp-response}.
 */
@ChannelHandler.Sharable
public final class OcspHandler extends BlockingHttpHandler {
    public static final String PATH = "/pki/ocsp";

    private final OcspResponder responder;

    public OcspHandler(OcspResponder responder, Executor workers) {
        super(workers);
        this.responder = responder;
    }

    @Override
    protected boolean accepts(FullHttpRequest req) {
        return req.uri().equals(PATH) || req.uri().startsWith(PATH + "/");
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        {
            byte[] der;
            if (req.method().equals(HttpMethod.POST)) {
                der = ByteBufUtil.getBytes(req.content());
            } else if (req.method().equals(HttpMethod.GET) && req.uri().length() > PATH.length() + 1) {
                try {
                    String encoded = URLDecoder.decode(req.uri().substring(PATH.length() + 1), StandardCharsets.US_ASCII);
                    der = Base64.getDecoder().decode(encoded);
                } catch (IllegalArgumentException e) {
                    der = new byte[0]; // answered as malformedRequest below
                }
            } else {
                HttpReplies.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "http.method", "use POST, or GET with the request in the path");
                return;
            }
            OcspResponder.Answer a = responder.respond(der);
            HttpReplies.send(ctx, req, HttpResponseStatus.OK, "application/ocsp-response", a.der());
        }
    }
}
