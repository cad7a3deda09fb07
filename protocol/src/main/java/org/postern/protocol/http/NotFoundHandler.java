package org.postern.protocol.http;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * The end of an HTTP pipeline: whatever no handler took is a 404, and an exception that reached
 * the end (a peer that hung up mid-handshake, a reset) closes the connection with one debug line
 * instead of Netty's tail warning.
 */
@ChannelHandler.Sharable
public final class NotFoundHandler extends ChannelInboundHandlerAdapter {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NotFoundHandler.class);

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

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("closing {}: {}", ClientAddress.source(ctx.channel()), cause.toString());
        ctx.close();
    }
}
