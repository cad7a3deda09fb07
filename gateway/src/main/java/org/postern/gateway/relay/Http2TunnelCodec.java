package org.postern.gateway.relay;

import java.nio.channels.ClosedChannelException;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
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
 * {@link Flow} (half-close, the graceful end of the flow, or the close-reason trailers of an abrupt
 * end) is sent once; bytes and trailers after it are refused, so one flow's end can never become
 * an HTTP/2 error of the whole connection. The connection closing closes the stream too, even one that is not being read.
 */
final class Http2TunnelCodec extends ChannelDuplexHandler {

    private boolean endSent;
    private ChannelFutureListener connectionClosed;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        // a stalled tunnel does not read, so it would not see the stream closed under it when the
        // whole connection goes; the connection's close ends it at once
        Channel stream = ctx.channel();
        connectionClosed = f -> stream.close();
        stream.parent().closeFuture().addListener(connectionClosed);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ctx.channel().parent().closeFuture().removeListener(connectionClosed); // many streams come and go on one connection
    }

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
        } else if (msg instanceof Http2HeadersFrame trailers && trailers.isEndStream()) {
            if (endSent) {
                // the close reason cannot follow END_STREAM (RFC 9113 §5.1), and Netty's encoder takes
                // HEADERS on a half-closed (local) stream for a connection error: it would GOAWAY every
                // tunnel of the laptop. The flow's close then resets this stream alone.
                promise.setFailure(new ClosedChannelException());
            } else {
                endSent = true;
                ctx.write(trailers, promise);
            }
        } else {
            ctx.write(msg, promise);
        }
    }
}
