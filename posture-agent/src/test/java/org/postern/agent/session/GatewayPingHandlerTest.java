package org.postern.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import org.junit.jupiter.api.Test;

class GatewayPingHandlerTest {
    private static EmbeddedChannel connection() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.freezeTime();
        ch.pipeline().addLast(GatewayPingHandler.idleState(), new GatewayPingHandler());
        return ch;
    }

    private static void pass(EmbeddedChannel ch, long seconds) {
        ch.advanceTimeBy(seconds, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
    }

    @Test
    void quietGateway_isPinged_andAConnectionThatAnswersStaysOpen() {
        EmbeddedChannel ch = connection();
        pass(ch, 14);
        assertThat((Object) ch.readOutbound()).isNull();
        pass(ch, 2);
        Object ping = ch.readOutbound();
        assertThat(ping).isInstanceOf(Http2PingFrame.class);
        assertThat(((Http2PingFrame) ping).ack()).isFalse();
        ch.writeInbound(new DefaultHttp2PingFrame(((Http2PingFrame) ping).content(), true)); // the gateway's ack
        pass(ch, 14);
        assertThat(ch.isOpen()).isTrue();
        assertThat(ch.attr(GatewayConnector.FAILURE).get()).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void gatewayGoneWithoutAWord_isClosedWithinTwiceTheQuietTime_sayingWhy() {
        EmbeddedChannel ch = connection();
        pass(ch, 16);
        assertThat((Object) ch.readOutbound()).isInstanceOf(Http2PingFrame.class);
        assertThat(ch.isOpen()).isTrue();
        pass(ch, 15);
        assertThat(ch.isOpen()).isFalse();
        assertThat(ch.attr(GatewayConnector.FAILURE).get()).hasMessage(
                "no frame from the gateway, not even the answer to an HTTP/2 PING, for 30 s");
        ch.finishAndReleaseAll();
    }

    @Test
    void busyConnection_isNeverPinged() {
        EmbeddedChannel ch = connection();
        for (int i = 0; i < 10; i++) {
            pass(ch, 10);
            ch.writeInbound("a frame of some stream");
        }
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }
}
