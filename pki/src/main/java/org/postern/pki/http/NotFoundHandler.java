package org.postern.pki.http;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;

/** The end of an HTTP pipeline: whatever no handler took is a 404. */
@ChannelHandler.Sharable
public final class NotFoundHandler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof FullHttpRequest req) {
                HttpReplies.refuse(ctx, req, HttpResponseStatus.NOT_FOUND, "http.not_found", "not found");
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }
}
