package org.postern.gateway.relay;

import java.nio.channels.ClosedChannelException;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Makes an HTTP/2 CONNECT stream look like a socket to {@link TunnelRelayHandler}: DATA frames in
 * become their bytes, END_STREAM becomes {@link ChannelInputShutdownEvent} (the peer's half-close),
 * RST_STREAM closes the stream; bytes out become DATA frames. An END_STREAM written by
 * {@link Flow} (half-close, or the graceful end of the flow) is sent once; bytes after it are
 * refused.
 */
final class Http2TunnelCodec extends ChannelDuplexHandler {

    private boolean endSent;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2DataFrame data) {
            boolean end = data.isEndStream();
            ByteBuf bytes = data.content();
            if (bytes.isReadable()) {
                ctx.fireChannelRead(bytes); // the frame's reference goes with its content
            } else {
                bytes.release();
            }
            if (end) {
                ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            }
        } else if (msg instanceof Http2HeadersFrame trailers) {
            if (trailers.isEndStream()) {
                ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            }
        } else {
            ReferenceCountUtil.release(msg); // unknown frame types carry nothing for the tunnel
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2ResetFrame) {
            ctx.close(); // the laptop cancelled the tunnel: the flow ends now, nothing more to flush
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf bytes) {
            if (endSent) {
                bytes.release();
                promise.setFailure(new ClosedChannelException());
            } else if (!bytes.isReadable()) {
                bytes.release();
                promise.setSuccess();
            } else {
                ctx.write(new DefaultHttp2DataFrame(bytes, false), promise);
            }
        } else if (msg instanceof Http2DataFrame data && data.isEndStream()) {
            if (endSent) {
                data.release();
                promise.setSuccess(); // already ended: the flow's own end finds it done
            } else {
                endSent = true;
                ctx.write(data, promise);
            }
        } else {
            ctx.write(msg, promise);
        }
    }
}
