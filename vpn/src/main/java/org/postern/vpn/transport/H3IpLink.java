package org.postern.vpn.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.handler.codec.http3.DefaultHttp3DataFrame;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;

/**
 * CONNECT-IP on an HTTP/3 request stream: stream bytes are DATA frames, datagrams are QUIC
 * DATAGRAM frames on the connection prefixed with the quarter stream id. Built once the 200 is
 * sent (gateway) or received (agent); the stream's HTTP/3 codec is already in its pipeline.
 */
public final class H3IpLink extends AbstractIpLink {
    private final QuicChannel connection;
    private final H3Datagrams datagrams;
    private final long quarterStreamId;
    private final int prefixLength;

    private H3IpLink(QuicStreamChannel stream) {
        super(stream);
        this.connection = stream.parent();
        this.datagrams = H3Datagrams.of(connection);
        this.quarterStreamId = HttpDatagrams.quarterStreamId(stream.streamId());
        this.prefixLength = HttpDatagrams.varintLength(quarterStreamId);
    }

    /**
     * Makes the link of {@code stream} (on its event loop): its DATA frames go to the link from
     * now on, and so do the connection's datagrams for it.
     */
    public static H3IpLink open(QuicStreamChannel stream) {
        requireEventLoop(stream, "H3IpLink.open");
        H3IpLink link = new H3IpLink(stream);
        link.datagrams.register(link.quarterStreamId, link);
        stream.pipeline().addLast("ipLink", link.new Reader());
        return link;
    }

    @Override
    public String transport() {
        return H3;
    }

    @Override
    protected Object dataFrame(ByteBuf bytes) {
        return new DefaultHttp3DataFrame(bytes);
    }

    @Override
    public DatagramResult sendDatagram(ByteBuf payload) {
        if (payload.readableBytes() > maxDatagramPayload()) {
            payload.release();
            return maxDatagramPayload() == 0 ? DatagramResult.UNSUPPORTED : DatagramResult.TOO_LARGE;
        }
        if (isClosed()) {
            payload.release();
            return DatagramResult.CLOSED;
        }
        ByteBuf prefix = connection.alloc().buffer(prefixLength);
        HttpDatagrams.writeVarint(prefix, quarterStreamId);
        ByteBuf datagram = connection.alloc().compositeBuffer(2).addComponents(true, prefix, payload);
        connection.write(datagram, connection.voidPromise());
        return DatagramResult.QUEUED;
    }

    @Override
    public int maxDatagramPayload() {
        return Math.max(0, datagrams.maxLength() - prefixLength);
    }

    @Override
    public void flush() {
        onLoop(() -> {
            stream.flush();
            connection.flush();
        });
    }

    @Override
    protected void finish(String why) {
        QuicStreamChannel quic = (QuicStreamChannel) stream;
        if (isReasonCode(why)) {
            quic.writeAndFlush(new DefaultHttp3HeadersFrame(new DefaultHttp3Headers().add(CLOSE_TRAILER, why)))
                    .addListener(f -> quic.shutdownOutput());
        } else {
            quic.shutdownOutput();
        }
    }

    @Override
    protected void forgotten() {
        datagrams.unregister(quarterStreamId);
    }

    /** Takes the stream's DATA frames, its trailers' {@value IpLink#CLOSE_TRAILER} and its end. */
    private final class Reader extends ChannelInboundHandlerAdapter {
        private @Nullable String peerWhy;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http3DataFrame data) {
                deliverStream(data.content());
            } else {
                if (msg instanceof Http3HeadersFrame trailers) { // HEADERS after the 200: the peer's trailers
                    CharSequence why = trailers.headers().get(CLOSE_TRAILER);
                    if (why != null && isReasonCode(why.toString())) {
                        peerWhy = why.toString();
                    }
                }
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownReadComplete.INSTANCE) {
                closed(peerWhy != null ? peerWhy : "the peer finished the stream");
                ctx.close();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed("the stream closed");
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closed("the stream failed: " + cause.getMessage());
            ctx.close();
        }
    }
}
