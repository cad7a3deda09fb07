package org.postern.vpn.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * CONNECT-IP on an HTTP/2 extended CONNECT stream (RFC 8441): stream bytes are DATA frames, flow
 * controlled by HTTP/2 (the stream channel returns window as the receiver reads). HTTP/2 has no
 * datagrams: the VPN layer sends DATAGRAM capsules in the stream bytes instead, so
 * {@link #maxDatagramPayload()} is 0 and {@link #sendDatagram} answers {@link DatagramResult#UNSUPPORTED}.
 * Closing ends the stream with an empty DATA frame carrying END_STREAM.
 */
public final class H2IpLink extends AbstractIpLink {

    private H2IpLink(Http2StreamChannel stream) {
        super(stream);
    }

    /** Makes the link of {@code stream} (on its event loop) once its 200 is sent or received. */
    public static H2IpLink open(Http2StreamChannel stream) {
        requireEventLoop(stream, "H2IpLink.open");
        H2IpLink link = new H2IpLink(stream);
        stream.pipeline().addLast("ipLink", link.new Reader());
        return link;
    }

    @Override
    public String transport() {
        return H2;
    }

    @Override
    protected Object dataFrame(ByteBuf bytes) {
        return new DefaultHttp2DataFrame(bytes);
    }

    @Override
    public DatagramResult sendDatagram(ByteBuf payload) {
        payload.release();
        return isClosed() ? DatagramResult.CLOSED : DatagramResult.UNSUPPORTED;
    }

    @Override
    public int maxDatagramPayload() {
        return 0;
    }

    @Override
    public void flush() {
        onLoop(stream::flush);
    }

    @Override
    protected void finish(String why) {
        Object end = isReasonCode(why)
                ? new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().add(CLOSE_TRAILER, why), true)
                : new DefaultHttp2DataFrame(true);
        stream.writeAndFlush(end).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    /** Takes the stream's DATA frames, its END_STREAM and a reset. */
    private final class Reader extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2DataFrame data) {
                boolean end = data.isEndStream();
                if (data.content().isReadable()) {
                    deliverStream(data.content().retain());
                }
                data.release();
                if (end) {
                    closed("the peer finished the stream");
                    ctx.writeAndFlush(new DefaultHttp2DataFrame(true)).addListener(ChannelFutureListener.CLOSE);
                }
            } else if (msg instanceof Http2HeadersFrame trailers && trailers.isEndStream()) {
                CharSequence why = trailers.headers().get(CLOSE_TRAILER);
                closed(why != null && isReasonCode(why.toString()) ? why.toString() : "the peer finished the stream");
                ctx.writeAndFlush(new DefaultHttp2DataFrame(true)).addListener(ChannelFutureListener.CLOSE);
            } else if (msg instanceof Http2ResetFrame reset) {
                closed("the peer reset the stream (" + reset.errorCode() + ")");
                ctx.close();
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed("the stream closed");
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closed("the stream failed: " + cause.getMessage());
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR)).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
