package org.postern.agent.socks;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.postern.agent.tunnel.TunnelEvents;
import org.postern.agent.tunnel.TunnelRefusedException;
import org.postern.agent.tunnel.Tunnels;

/** The SOCKS5 exchange (RFC 1928) in memory: greetings, requests, and each refusal's reply code. */
class Socks5ServerHandlerTest {

    /** Records what was asked and refuses with {@code refusal}. */
    static final class RefusingTunnels implements Tunnels {
        final List<String> asked = new ArrayList<>();
        final Throwable refusal;
        EmbeddedChannel ch;

        RefusingTunnels(Throwable refusal) {
            this.refusal = refusal;
        }

        @Override
        public Future<Http2StreamChannel> open(String host, int port) {
            asked.add(host + " " + port);
            return ch.eventLoop().newFailedFuture(refusal);
        }
    }

    static EmbeddedChannel channel(RefusingTunnels tunnels) {
        EmbeddedChannel ch = new EmbeddedChannel();
        tunnels.ch = ch;
        Socks5ServerHandler.install(ch.pipeline(), tunnels, TunnelEvents.SILENT);
        return ch;
    }

    static ByteBuf bytes(int... b) {
        ByteBuf buf = Unpooled.buffer(b.length);
        for (int x : b) {
            buf.writeByte(x);
        }
        return buf;
    }

    static String out(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            sb.append(ByteBufUtil.hexDump(b));
            b.release();
        }
        return sb.toString();
    }

    static final int[] GREETING_NO_AUTH = {0x05, 0x01, 0x00};
    static final int[] CONNECT_DOMAIN = {0x05, 0x01, 0x00, 0x03, 11, 'd', 'b', '1', '.', 'a', 'd', 'm', 'i', 'n', '.', 'x', 0x00, 22};

    @Test
    void greeting_offeringNoAuth_isAnsweredNoAuth() {
        EmbeddedChannel ch = channel(new RefusingTunnels(new IllegalStateException()));
        ch.writeInbound(bytes(0x05, 0x02, 0x02, 0x00));
        assertThat(out(ch)).isEqualTo("0500");
        assertThat(ch.isActive()).isTrue();
    }

    @Test
    void greeting_withoutNoAuth_isUnacceptedAndClosed() {
        EmbeddedChannel ch = channel(new RefusingTunnels(new IllegalStateException()));
        ch.writeInbound(bytes(0x05, 0x01, 0x02)); // username/password only
        assertThat(out(ch)).isEqualTo("05ff");
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void malformedGreeting_socks4_isClosedWithoutAnswer() {
        EmbeddedChannel ch = channel(new RefusingTunnels(new IllegalStateException()));
        ch.writeInbound(bytes(0x04, 0x01, 0x00, 0x16, 127, 0, 0, 1, 0x00));
        assertThat(out(ch)).isEmpty();
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void malformedGreeting_httpRequest_isClosedWithoutAnswer() {
        EmbeddedChannel ch = channel(new RefusingTunnels(new IllegalStateException()));
        ch.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\n\r\n", java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(out(ch)).isEmpty();
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void bind_isCommandNotSupported() {
        RefusingTunnels t = new RefusingTunnels(new IllegalStateException());
        EmbeddedChannel ch = channel(t);
        ch.writeInbound(bytes(GREETING_NO_AUTH));
        out(ch);
        ch.writeInbound(bytes(0x05, 0x02, 0x00, 0x01, 10, 0, 0, 1, 0x00, 22));
        assertThat(out(ch)).isEqualTo("05070001000000000000");
        assertThat(ch.isActive()).isFalse();
        assertThat(t.asked).isEmpty();
    }

    @Test
    void connect_domain_asksTheGatewayForTheNameAsWritten() {
        RefusingTunnels t = new RefusingTunnels(TunnelRefusedException.fromGateway("db1.admin.x:22", 403, "access.denied"));
        EmbeddedChannel ch = channel(t);
        ch.writeInbound(bytes(GREETING_NO_AUTH));
        out(ch);
        ch.writeInbound(bytes(CONNECT_DOMAIN));
        assertThat(t.asked).containsExactly("db1.admin.x 22");
        assertThat(out(ch)).as("0x02 connection not allowed by ruleset").isEqualTo("05020001000000000000");
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void connect_ipv4AndIpv6_areParsed() {
        RefusingTunnels t = new RefusingTunnels(TunnelRefusedException.noSession("x", "not connected"));
        EmbeddedChannel ch = channel(t);
        ch.writeInbound(bytes(GREETING_NO_AUTH));
        ch.writeInbound(bytes(0x05, 0x01, 0x00, 0x01, 10, 20, 0, 5, 0x1f, 0x90));
        EmbeddedChannel ch6 = channel(t);
        ch6.writeInbound(bytes(GREETING_NO_AUTH));
        ch6.writeInbound(bytes(0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb));
        assertThat(t.asked).containsExactly("10.20.0.5 8080", "2001:db8::1 443");
    }

    @Test
    void replyFor_mapsEachRefusal() {
        assertThat(Socks5ServerHandler.replyFor(TunnelRefusedException.fromGateway("d:22", 403, "access.denied")))
                .isEqualTo(Socks5CommandStatus.FORBIDDEN);
        assertThat(Socks5ServerHandler.replyFor(TunnelRefusedException.fromGateway("d:22", 403, "posture.no_lease")))
                .isEqualTo(Socks5CommandStatus.FORBIDDEN);
        assertThat(Socks5ServerHandler.replyFor(TunnelRefusedException.fromGateway("d:22", 502, "connect.unresolved")))
                .isEqualTo(Socks5CommandStatus.HOST_UNREACHABLE);
        assertThat(Socks5ServerHandler.replyFor(TunnelRefusedException.fromGateway("d:22", 502, "connect.failed")))
                .isEqualTo(Socks5CommandStatus.CONNECTION_REFUSED);
        assertThat(Socks5ServerHandler.replyFor(TunnelRefusedException.noSession("d:22", "not connected")))
                .isEqualTo(Socks5CommandStatus.FAILURE);
        assertThat(Socks5ServerHandler.replyFor(TunnelRefusedException.fromGateway("d:22", 503, "audit.unavailable")))
                .isEqualTo(Socks5CommandStatus.FAILURE);
        assertThat(Socks5ServerHandler.replyFor(new java.io.IOException("stream reset")))
                .isEqualTo(Socks5CommandStatus.FAILURE);
    }

    @Test
    void noSession_repliesGeneralFailure() {
        RefusingTunnels t = new RefusingTunnels(TunnelRefusedException.noSession("db1.admin.x:22", "not connected to the gateway"));
        EmbeddedChannel ch = channel(t);
        ch.writeInbound(bytes(GREETING_NO_AUTH));
        out(ch);
        ch.writeInbound(bytes(CONNECT_DOMAIN));
        assertThat(out(ch)).isEqualTo("05010001000000000000");
        assertThat(ch.isActive()).isFalse();
    }
}
