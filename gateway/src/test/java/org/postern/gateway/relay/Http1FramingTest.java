package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

/** How an HTTP/1.1 CONNECT is taken off the HTTP codec: with Netty's own codec, no sockets. */
class Http1FramingTest {

    /** Takes a CONNECT as {@link ConnectHandler} does, and keeps every other message it sees. */
    static final class Taker extends ChannelInboundHandlerAdapter {
        final List<String> seen = new ArrayList<>();
        Http1Framing framing;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest head && HttpMethod.CONNECT.equals(head.method())) {
                framing = Http1Framing.take(ctx, this, RelaySettings.DEFAULTS, head);
                seen.add(head.method() + " " + head.uri());
                return;
            }
            seen.add(msg instanceof ByteBuf b ? "bytes " + b.toString(StandardCharsets.US_ASCII)
                    : msg instanceof LastHttpContent ? "last content" : msg.toString());
            ReferenceCountUtil.release(msg);
        }
    }

    @Test
    void connectAndPipelinedRequests_inOneRead_decodesOnlyTheConnect_holdsTheRest() {
        Taker taker = new Taker();
        EmbeddedChannel ch = new EmbeddedChannel(new HttpServerCodec(), taker);
        String after = "GET /pki/crl HTTP/1.1\r\nHost: gw\r\n\r\nCONNECT b:2 HTTP/1.1\r\n\r\n";
        ch.writeInbound(ascii("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n" + after));
        ch.writeInbound(ascii("and later"));

        assertThat(taker.framing).isNotNull();
        assertThat(taker.framing.authority()).isEqualTo("a:1");
        // the head only: the empty last content the decoder had already made stops at the hold, and
        // nothing after the head is decoded
        assertThat(taker.seen).containsExactly("CONNECT a:1");
        assertThat(Http1Framing.taken(ch)).isTrue();
        assertThat(ch.config().isAutoRead()).isFalse();
        assertThat(ch.pipeline().names()).contains(Http1Framing.HOLD);

        // handed over: the bytes after the head, in order, to the handler behind the hold
        Http1Framing.Hold hold = (Http1Framing.Hold) ch.pipeline().get(Http1Framing.HOLD);
        taker.seen.clear();
        hold.handOver(ch.pipeline().context(Http1Framing.HOLD));
        assertThat(String.join("|", taker.seen)).isEqualTo("bytes " + after + "|bytes and later");
        assertThat(ch.readOutbound() == null).isTrue();
        taker.framing.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void hold_overItsBound_closesTheConnection_andReleasesWhatItHeld() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1Framing.Hold());
        ByteBuf first = Unpooled.buffer(Http1Framing.MAX_HELD).writeZero(Http1Framing.MAX_HELD);
        ByteBuf second = Unpooled.buffer(1).writeZero(1);
        ch.writeInbound(first);
        assertThat(ch.isOpen()).isTrue();
        ch.writeInbound(second);
        assertThat(ch.isOpen()).isFalse();
        assertThat(first.refCnt()).isZero();
        assertThat(second.refCnt()).isZero();
    }

    @Test
    void hold_connectionGone_releasesWhatItHeld() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1Framing.Hold());
        ByteBuf held = ascii("tunnel bytes");
        ch.writeInbound(held);
        ch.close();
        assertThat(held.refCnt()).isZero();
    }

    @Test
    void body_transferEncodingOrNonZeroContentLength_isContent_zeroOrNoneIsNot() {
        assertThat(Http1Framing.body(connect())).isNull();
        assertThat(Http1Framing.body(connect("Content-Length", "0"))).isNull();
        assertThat(Http1Framing.body(connect("Content-Length", "000"))).isNull();
        assertThat(Http1Framing.body(connect("Content-Length", "5"))).contains("found Content-Length: 5");
        assertThat(Http1Framing.body(connect("Content-Length", "-0"))).contains("Content-Length");
        assertThat(Http1Framing.body(connect("Transfer-Encoding", "chunked"))).contains("found Transfer-Encoding: chunked");
        assertThat(Http1Framing.body(connect("Transfer-Encoding", "identity"))).contains("Transfer-Encoding");
        assertThat(Http1Framing.body(connect("Transfer-Encoding", "x".repeat(500)))).hasSizeLessThan(200);
        DefaultFullHttpRequest full = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.CONNECT, "a:1", ascii("xyz"));
        assertThat(Http1Framing.body(full)).contains("found 3 bytes");
        full.release();
    }

    private static HttpRequest connect(String... headers) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.CONNECT, "a:1");
        for (int i = 0; i < headers.length; i += 2) {
            r.headers().add(headers[i], headers[i + 1]);
        }
        return r;
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }
}
