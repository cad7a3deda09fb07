package org.postern.pki.est;

import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;


import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslHandler;
import java.util.concurrent.Executor;

import org.jspecify.annotations.Nullable;
import org.postern.protocol.http.BlockingHttpHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.postern.config.Secret;
import org.postern.pki.PkiException;
import org.postern.pki.PkiService;
import org.postern.protocol.http.HttpReplies;
import org.postern.tls.TlsContexts;

/**
 * EST (RFC 7030) on {@code /.well-known/est/}: {@code cacerts}, {@code simpleenroll} (token as
 * Basic password or Bearer) and {@code simplereenroll} (the TLS client certificate of the
 * connection, also when the request came on an HTTP/2 stream). Other paths pass on down the
 * pipeline. Runs on a blocking executor: enrollment signs and writes the registry.
 */
@io.netty.channel.ChannelHandler.Sharable
public final class EstHandler extends BlockingHttpHandler {
    /** The challenge on a 401: the enrollment token goes as HTTP Basic credentials (user = device id). */
    static final String BASIC_REALM = "Basic realm=\"postern-est\"";
    public static final String PREFIX = "/.well-known/est/";
    private static final String PKCS7 = "application/pkcs7-mime";
    private static final String CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only";

    private final PkiService service;
    private final List<X509Certificate> caChain;

    public EstHandler(PkiService service, List<X509Certificate> caChain, Executor workers) {
        super(workers);
        this.service = service;
        this.caChain = List.copyOf(caChain);
    }

    @Override
    protected boolean accepts(FullHttpRequest req) {
        return path(req).startsWith(PREFIX);
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        try {
            String op = path(req).substring(PREFIX.length());
            switch (op) {
                case "cacerts" -> {
                    if (!req.method().equals(HttpMethod.GET)) {
                        methodNotAllowed(ctx, req, "GET");
                        return;
                    }
                    ok(ctx, req, PKCS7, CertsOnly.encode(caChain));
                }
                case "simpleenroll", "simplereenroll" -> {
                    if (!req.method().equals(HttpMethod.POST)) {
                        methodNotAllowed(ctx, req, "POST");
                        return;
                    }
                    byte[] body = ByteBufUtil.getBytes(req.content());
                    X509Certificate cert = op.equals("simpleenroll")
                            ? enroll(ctx, req, body)
                            : service.reenroll(clientCertificate(ctx), body, HttpReplies.source(ctx));
                    ok(ctx, req, CERTS_ONLY, CertsOnly.encode(List.of(cert)));
                }
                default -> HttpReplies.refuse(ctx, req, HttpResponseStatus.NOT_FOUND, "est.unsupported",
                        "EST operation not supported: " + op);
            }
        } catch (PkiException e) {
            FullHttpResponse res = HttpReplies.refusal(HttpResponseStatus.valueOf(e.httpStatus()), e.code(), e.getMessage());
            if (e.httpStatus() == 401) { // RFC 7030 §3.2.3: the token is HTTP Basic credentials for this realm
                res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, BASIC_REALM);
            }
            HttpReplies.send(ctx, req, res);
        }
    }

    private X509Certificate enroll(ChannelHandlerContext ctx, FullHttpRequest req, byte[] body) {
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        String user = null;
        Secret token = null;
        if (auth != null && auth.regionMatches(true, 0, "Basic ", 0, 6)) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth.substring(6).strip()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                decoded = "";
            }
            int colon = decoded.indexOf(':');
            if (colon >= 0) {
                user = decoded.substring(0, colon);
                String password = decoded.substring(colon + 1);
                token = password.isEmpty() ? null : Secret.of(password);
            }
        } else if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String t = auth.substring(7).strip();
            token = t.isEmpty() ? null : Secret.of(t);
        }
        return service.enroll(user, token, body, HttpReplies.source(ctx));
    }

    /**
     * The TLS client certificate of the connection the request came on. On HTTP/2 the request is
     * on a stream, a child channel of the connection, whose own pipeline has no TLS handler: the
     * {@link SslHandler} is looked up from the request's channel through its parents.
     */
    private static @Nullable X509Certificate clientCertificate(ChannelHandlerContext ctx) {
        for (Channel ch = ctx.channel(); ch != null; ch = ch.parent()) {
            SslHandler tls = ch.pipeline().get(SslHandler.class);
            if (tls != null) {
                return TlsContexts.peerCertificate(tls.engine().getSession()).orElse(null);
            }
        }
        return null;
    }

    private static void ok(ChannelHandlerContext ctx, FullHttpRequest req, String type, byte[] der) {
        var res = new io.netty.handler.codec.http.DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                HttpResponseStatus.OK, io.netty.buffer.Unpooled.copiedBuffer(base64(der), StandardCharsets.US_ASCII));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        res.headers().set("Content-Transfer-Encoding", "base64");
        HttpReplies.send(ctx, req, res);
    }

    /**
     * RFC 8951 §3.2.2: EST bodies are RFC 4648 base64, which has no line breaks; strongSwan's
     * decoder indeed does not skip them. (A trailing newline is harmless to every client tried.)
     */
    static String base64(byte[] der) {
        return Base64.getEncoder().encodeToString(der) + "\n";
    }

    private static void methodNotAllowed(ChannelHandlerContext ctx, FullHttpRequest req, String allowed) {
        HttpReplies.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "http.method", "use " + allowed);
    }
}
