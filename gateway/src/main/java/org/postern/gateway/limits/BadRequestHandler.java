package org.postern.gateway.limits;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import org.postern.audit.AuditEvent;
import org.postern.protocol.Reasons;

/**
 * What the HTTP codec could not decode: a head over {@code limits.headerSize} gets
 * {@code 431 limits.header_size}, a request line over its bound {@code 414 limits.request_line},
 * anything else malformed (request line, header syntax) {@code 400 http.bad_request}. Audited as
 * {@code http.denied} with what the codec found, and the connection closes (after a decoding error
 * the codec discards the rest of the connection's input anyway). Sits right after the codec.
 */
@ChannelHandler.Sharable
public final class BadRequestHandler extends ChannelInboundHandlerAdapter {

    public static final String HEADER_SIZE = Reasons.LIMITS_HEADER_SIZE.code();
    public static final String REQUEST_LINE = Reasons.LIMITS_REQUEST_LINE.code();
    public static final String BAD_REQUEST = Reasons.HTTP_BAD_REQUEST.code();

    private final LimitAudit audit;
    private final long maxHeaderSize;

    public BadRequestHandler(LimitAudit audit, long maxHeaderSize) {
        this.audit = audit;
        this.maxHeaderSize = maxHeaderSize;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpObject o) || o.decoderResult().isSuccess()) {
            ctx.fireChannelRead(msg);
            return;
        }
        DecoderResult result = o.decoderResult();
        ReferenceCountUtil.release(msg);
        if (!ctx.channel().isActive()) {
            return;
        }
        Throwable cause = result.cause();
        String found = cause == null ? "undecodable input" : AuditEvent.peerText(String.valueOf(cause.getMessage()));
        switch (cause) {
            case TooLongHttpHeaderException e -> audit.refuse(ctx, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    HEADER_SIZE, "request header too large",
                    "request head over " + maxHeaderSize + " bytes (limits.headerSize): " + found);
            case TooLongHttpLineException e -> audit.refuse(ctx, HttpResponseStatus.REQUEST_URI_TOO_LONG,
                    REQUEST_LINE, "request line too long", "request line too long: " + found);
            case TooLongFrameException e -> audit.refuse(ctx, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    HEADER_SIZE, "request header too large", found);
            case null, default -> audit.refuse(ctx, HttpResponseStatus.BAD_REQUEST, BAD_REQUEST, "bad request",
                    "expected an HTTP/1.1 request (METHOD TARGET HTTP/1.1, then headers), found what the decoder "
                            + "rejects: " + (cause == null ? found : cause.getClass().getSimpleName() + ": " + found));
        }
    }
}
