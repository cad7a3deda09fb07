package org.postern.gateway.limits;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import org.postern.audit.AuditEvent;
import org.postern.protocol.http.HttpReplies;
import org.postern.protocol.Reasons;

/**
 * Whole requests with a bounded body. Over the bound the stock aggregator answers 413 by itself;
 * this one also writes {@code http.denied} ({@code http.too_large}), as {@code pki serve} does.
 */
public final class AuditedAggregator extends HttpObjectAggregator {

    public static final String REASON = Reasons.HTTP_TOO_LARGE.code();

    private final LimitAudit audit;

    public AuditedAggregator(int maxContentLength, LimitAudit audit) {
        super(maxContentLength);
        this.audit = audit;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
        String what = oversized instanceof HttpRequest r ? r.method() + " " + AuditEvent.peerText(r.uri()) : "message";
        audit.record(audit.event("http.denied", ctx.channel(), HttpReplies.source(ctx))
                .with("reason", REASON)
                .with("status", HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code())
                .with("detail", what + ": body over " + maxContentLength() + " bytes (Content-Length: "
                        + HttpUtil.getContentLength(oversized, -1L) + ")")
                .build());
        super.handleOversizedMessage(ctx, oversized);
    }
}
