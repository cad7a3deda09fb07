package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.ClosedChannelException;

import io.netty.channel.ChannelFuture;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import org.junit.jupiter.api.Test;

/**
 * The stream side of the relay's writes. Incident (bench/tunnel, 2026-12-06, docs/profile-h2-relay.md):
 * the admin host sent FIN (passed on as END_STREAM), then reset while the laptop still sent; the
 * flow's close wrote {@code postern-close} trailers on the half-closed stream, which Netty's encoder
 * takes for a connection error: GOAWAY, and every tunnel on the laptop's connection ended.
 */
class Http2TunnelCodecTest {

    private static EmbeddedChannel stream() {
        EmbeddedChannel connection = new EmbeddedChannel();
        return new EmbeddedChannel(connection, DefaultChannelId.newInstance(), true, false, new Http2TunnelCodec());
    }

    private static DefaultHttp2HeadersFrame closeReason() {
        return new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().add(Flow.CLOSE_TRAILER, "error"), true);
    }

    @Test
    void closeReason_afterEndStream_isNotWritten() {
        EmbeddedChannel stream = stream();
        stream.writeOutbound(new DefaultHttp2DataFrame(true));
        ChannelFuture trailers = stream.writeAndFlush(closeReason());
        // refused, so the flow's close listener runs and resets this stream alone
        assertThat(trailers.isDone()).as("the flow's close listener still runs").isTrue();
        assertThat(trailers.cause()).isInstanceOf(ClosedChannelException.class);
        Http2DataFrame end = stream.readOutbound();
        assertThat(end.isEndStream()).isTrue();
        end.release();
        assertThat((Object) stream.readOutbound()).as("HEADERS after END_STREAM").isNull();
        stream.finishAndReleaseAll();
    }

    @Test
    void closeReason_onAnOpenStream_isWritten() {
        EmbeddedChannel stream = stream();
        stream.writeOutbound(closeReason());
        Http2HeadersFrame trailers = stream.readOutbound();
        assertThat(trailers.isEndStream()).isTrue();
        assertThat(trailers.headers().get(Flow.CLOSE_TRAILER)).hasToString("error");
        stream.finishAndReleaseAll();
    }
}
