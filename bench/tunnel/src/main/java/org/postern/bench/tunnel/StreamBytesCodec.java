package org.postern.bench.tunnel;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;

/**
 * Bytes on a CONNECT stream: a {@link ByteBuf} written becomes a DATA frame, a DATA frame read
 * becomes its bytes, so {@link PushHandler} runs unchanged over an HTTP/2 stream and a socket.
 */
final class StreamBytesCodec extends MessageToMessageCodec<Http2DataFrame, ByteBuf> {

    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf bytes, List<Object> out) {
        out.add(new DefaultHttp2DataFrame(bytes.retain(), false));
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, Http2DataFrame frame, List<Object> out) {
        if (frame.content().isReadable()) {
            out.add(frame.content().retain());
        }
    }
}
