package org.postern.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.ProxyProtocol;
import org.postern.gateway.limits.LimitAudit;
import org.postern.gateway.limits.SourceLimitHandler;
import org.postern.protocol.http.ClientAddress;

/** The tunnel listener's PROXY stages on an in-memory connection from a given TCP peer. */
class ProxyStagesTest {

    private static final InetSocketAddress HAPROXY = new InetSocketAddress("10.0.0.5", 40000);
    private static final InetSocketAddress LAPTOP = new InetSocketAddress("198.51.100.20", 51000);
    private static final byte[] CLIENT_HELLO = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    private static final Duration HEADER_TIME = Duration.ofSeconds(5);

    private final List<AuditEvent> audited = new CopyOnWriteArrayList<>();
    private final ProxyStages stages = new ProxyStages(new ProxyProtocol(
            new ProxyProtocol.Listener(List.of(Network.parse("10.0.0.0/24"))), ProxyProtocol.Listener.OFF, HEADER_TIME, false),
            new ProxyAudit("tunnel", new Recorded(), Runnable::run, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC)));
    private PeerChannel ch;

    @AfterEach
    void close() {
        if (ch != null) {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void trustedProxy_v2Header_clientAddressTakenAndRestBuiltBeforeActive() throws Exception {
        Probe probe = connect(HAPROXY);
        assertThat(probe.activeSeen).as("the client's stages are not active before the header").isNull();

        ByteBuf header = header(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP4, "203.0.113.7", 50123);
        ch.writeInbound(Unpooled.wrappedBuffer(header, Unpooled.wrappedBuffer(CLIENT_HELLO)));

        assertThat(ClientAddress.of(ch)).isEqualTo(new InetSocketAddress("203.0.113.7", 50123));
        assertThat(ClientAddress.source(ch)).isEqualTo("203.0.113.7:50123");
        assertThat(probe.activeSeen).as("channelActive reached the client's stages with the client known")
                .isEqualTo(new InetSocketAddress("203.0.113.7", 50123));
        assertThat(probe.bytes()).containsExactly(CLIENT_HELLO);
        assertThat(ch.pipeline().names()).doesNotContain("proxyGuard", "proxyHeader", "proxyAddress");
        assertThat(ch.isOpen()).isTrue();
        assertThat(audited).isEmpty();
    }

    @Test
    void trustedProxy_headerOneByteAtATime_isStillRead() throws Exception {
        Probe probe = connect(HAPROXY);
        ByteBuf header = header(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP6, "2001:db8::7", 443);
        while (header.isReadable()) {
            ch.writeInbound(header.readRetainedSlice(1));
        }
        header.release();
        ch.writeInbound(Unpooled.wrappedBuffer(CLIENT_HELLO));
        assertThat(ClientAddress.source(ch)).isEqualTo("[2001:db8:0:0:0:0:0:7]:443"); // as every source is written (getHostAddress)
        assertThat(probe.bytes()).containsExactly(CLIENT_HELLO);
    }

    @Test
    void untrustedPeer_v2Header_isRefusedAndAudited() throws Exception {
        Probe probe = connect(LAPTOP);
        ch.writeInbound(header(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP4, "203.0.113.7", 50123));
        assertThat(ch.isOpen()).isFalse();
        assertThat(probe.bytes()).isEmpty();
        assertRefused("proxy.untrusted", "198.51.100.20:51000", "a PROXY protocol v2 header from 198.51.100.20, which is"
                + " not in proxyProtocol's trustedProxies of this listener");
    }

    @Test
    void untrustedPeer_v1Header_isRefusedAndAudited() throws Exception {
        connect(LAPTOP);
        ch.writeInbound(Unpooled.copiedBuffer("PROXY TCP4 203.0.113.7 10.0.0.1 5000 8443\r\n", StandardCharsets.US_ASCII));
        assertThat(ch.isOpen()).isFalse();
        assertRefused("proxy.untrusted", "198.51.100.20:51000", "a PROXY protocol v1 header from 198.51.100.20");
    }

    @Test
    void untrustedPeer_withoutHeader_isADirectConnection() throws Exception {
        Probe probe = connect(LAPTOP);
        assertThat(probe.activeSeen).isEqualTo(LAPTOP);
        ch.writeInbound(Unpooled.wrappedBuffer(CLIENT_HELLO));
        assertThat(probe.bytes()).containsExactly(CLIENT_HELLO);
        assertThat(ClientAddress.of(ch)).isEqualTo(LAPTOP);
        assertThat(ch.pipeline().names()).doesNotContain("proxyRefusal");
        assertThat(audited).isEmpty();
    }

    @Test
    void trustedProxy_withoutHeader_isRefused() throws Exception {
        Probe probe = connect(HAPROXY);
        ch.writeInbound(Unpooled.wrappedBuffer(CLIENT_HELLO));
        assertThat(ch.isOpen()).isFalse();
        assertThat(probe.bytes()).isEmpty();
        assertRefused("proxy.required", "10.0.0.5:40000", "expected a PROXY protocol v2 header first from this trusted"
                + " proxy (HAProxy send-proxy-v2), found no header");
    }

    @Test
    void trustedProxy_v1Header_isRefused() throws Exception {
        connect(HAPROXY);
        ch.writeInbound(Unpooled.copiedBuffer("PROXY TCP4 203.0.113.7 10.0.0.1 5000 8443\r\n", StandardCharsets.US_ASCII));
        assertThat(ch.isOpen()).isFalse();
        assertRefused("proxy.required", "10.0.0.5:40000", "found a v1 header");
    }

    @Test
    void trustedProxy_local_closesWithoutAudit() throws Exception {
        Probe probe = connect(HAPROXY);
        ch.writeInbound(header(HAProxyCommand.LOCAL, HAProxyProxiedProtocol.UNKNOWN, null, 0));
        assertThat(ch.isOpen()).isFalse();
        assertThat(probe.activeSeen).isNull();
        assertThat(audited).isEmpty();
    }

    @Test
    void trustedProxy_truncatedHeader_isRefusedAtHeaderTime() throws Exception {
        Probe probe = connect(HAPROXY);
        ByteBuf header = header(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP4, "203.0.113.7", 50123);
        ch.writeInbound(header.readRetainedSlice(header.readableBytes() - 3));
        header.release();
        assertThat(ch.isOpen()).isTrue();
        ch.advanceTimeBy(HEADER_TIME.toMillis() - 1000, TimeUnit.MILLISECONDS); // the embedded clock runs in real time too
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("still within proxyProtocol.headerTime: %s", audited).isTrue();
        ch.advanceTimeBy(2000, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).isFalse();
        assertThat(probe.activeSeen).isNull();
        assertRefused("proxy.header_time", "10.0.0.5:40000", "expected a whole PROXY v2 header within"
                + " proxyProtocol.headerTime (5000 ms) of the trusted proxy's connection, found none");
    }

    @Test
    void trustedProxy_oversizeTlvs_isRefusedBeforeTheyAreHeld() throws Exception {
        connect(HAPROXY);
        ByteBuf bytes = Unpooled.buffer();
        bytes.writeBytes(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        bytes.writeByte(0x21).writeByte(0x11).writeShort(12 + 2000); // PROXY, TCP4, addresses and 2000 bytes of TLVs
        ch.writeInbound(bytes);
        assertThat(ch.isOpen()).isFalse();
        assertRefused("proxy.invalid", "10.0.0.5:40000", "expected a PROXY v2 header of at most 1024 bytes after its"
                + " first 16, found 2012");
    }

    @Test
    void trustedProxy_malformedHeader_isRefusedWithTheDecodersReason() throws Exception {
        connect(HAPROXY);
        ByteBuf bytes = Unpooled.buffer();
        bytes.writeBytes(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        bytes.writeByte(0x21).writeByte(0x11).writeShort(4).writeInt(0); // TCP4 needs 12 bytes of addresses
        ch.writeInbound(bytes);
        assertThat(ch.isOpen()).isFalse();
        assertThat(audited).hasSize(1);
        assertThat(audited.getFirst().fields()).containsEntry("reason", "proxy.invalid");
        assertThat((String) audited.getFirst().fields().get("detail")).startsWith("expected a valid PROXY v2 header from"
                + " the trusted proxy, found one the decoder refused: ");
    }

    @Test
    void trustedProxy_unixSource_isRefused() throws Exception {
        connect(HAPROXY);
        ch.writeInbound(header(HAProxyCommand.PROXY, HAProxyProxiedProtocol.UNIX_STREAM, "/run/x.sock", 0));
        assertThat(ch.isOpen()).isFalse();
        assertRefused("proxy.invalid", "10.0.0.5:40000", "expected a PROXY v2 header naming a TCP client over IPv4"
                + " or IPv6, found command PROXY, protocol UNIX_STREAM");
    }

    @Test
    void trustedProxy_clientStagesFailToBuild_connectionIsClosed() throws Exception {
        // review of the PROXY v2 merge: the handler marked itself done before building the stages, so the
        // failure's exceptionCaught returned early and left the connection open with its header timer cancelled
        ch = new PeerChannel(HAPROXY);
        stages.addTo(ch, c -> {
            throw new IllegalStateException("stages could not be built");
        });
        ch.register();
        ch.writeInbound(header(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP4, "203.0.113.7", 50123));
        assertThat(ch.isOpen()).isFalse();
        assertThat(audited).as("the header was good: no proxy refusal").isEmpty();
        ch.checkException(); // the failure was handled, not left for the tail
    }

    @Test
    void perSourceLimit_countsTheClientsBehindTheProxy_notTheProxy() throws Exception {
        List<AuditEvent> limitRecords = new CopyOnWriteArrayList<>();
        SourceLimitHandler perSource = new SourceLimitHandler(1, Duration.ofSeconds(10), new LimitAudit(new AuditSink() {
            @Override
            public void record(AuditEvent e) {
                limitRecords.add(e);
            }

            @Override
            public void close() {
            }
        }, Runnable::run, Clock.systemUTC()));
        PeerChannel first = throughProxy(perSource, "203.0.113.7", 1000);
        PeerChannel second = throughProxy(perSource, "203.0.113.8", 1000);
        assertThat(first.isOpen()).as("one connection of 203.0.113.7").isTrue();
        assertThat(second.isOpen()).as("another client through the same proxy").isTrue();
        PeerChannel third = throughProxy(perSource, "203.0.113.7", 1001);
        assertThat(third.isOpen()).as("203.0.113.7's second connection, over limits.connectionsPerSource: 1").isFalse();
        assertThat(limitRecords).singleElement().satisfies(e -> assertThat(e.fields())
                .containsEntry("source", "203.0.113.7").containsEntry("reason", "limits.connections_per_source"));
        for (PeerChannel c : List.of(first, second, third)) {
            c.finishAndReleaseAll();
        }
    }

    private PeerChannel throughProxy(SourceLimitHandler perSource, String client, int port) throws Exception {
        PeerChannel c = new PeerChannel(HAPROXY);
        stages.addTo(c, x -> x.pipeline().addLast("perSource", perSource));
        c.register();
        c.writeInbound(header(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP4, client, port));
        return c;
    }

    private void assertRefused(String reason, String source, String detailPart) {
        assertThat(audited).hasSize(1);
        AuditEvent e = audited.getFirst();
        assertThat(e.type()).isEqualTo("connection.denied");
        assertThat(e.fields()).containsEntry("reason", reason).containsEntry("source", source)
                .containsEntry("listener", "tunnel");
        assertThat((String) e.fields().get("detail")).contains(detailPart);
    }

    private Probe connect(InetSocketAddress peer) throws Exception {
        Probe probe = new Probe();
        ch = new PeerChannel(peer);
        stages.addTo(ch, c -> c.pipeline().addLast("probe", probe));
        ch.register();
        return probe;
    }

    private static ByteBuf header(HAProxyCommand command, HAProxyProxiedProtocol protocol, String source, int port) {
        String dest = switch (protocol) {
            case TCP6, UDP6 -> "2001:db8::1";
            case UNIX_STREAM, UNIX_DGRAM -> "/run/y.sock";
            case UNKNOWN -> null;
            default -> "10.0.0.1";
        };
        EmbeddedChannel encoder = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        encoder.writeOutbound(new HAProxyMessage(HAProxyProtocolVersion.V2, command, protocol, source, dest, port,
                dest == null || dest.startsWith("/") ? 0 : 8443));
        ByteBuf out = encoder.readOutbound();
        encoder.finishAndReleaseAll();
        return out;
    }

    /** An in-memory connection whose TCP peer is {@code peer}. */
    private static final class PeerChannel extends EmbeddedChannel {
        private final InetSocketAddress peer;

        PeerChannel(InetSocketAddress peer) {
            super(false, false);
            this.peer = peer;
        }

        @Override
        protected SocketAddress remoteAddress0() {
            return peer;
        }
    }

    /** Stands for the client's stages: what reached them, and when they became active. */
    private static final class Probe extends ChannelInboundHandlerAdapter {
        InetSocketAddress activeSeen;
        private final ByteBuf received = Unpooled.buffer();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            activeSeen = ClientAddress.of(ctx.channel());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            received.writeBytes((ByteBuf) msg);
            ReferenceCountUtil.release(msg);
        }

        byte[] bytes() {
            byte[] b = new byte[received.readableBytes()];
            received.getBytes(0, b);
            return b;
        }
    }

    private final class Recorded implements AuditSink {
        @Override
        public void record(AuditEvent e) {
            audited.add(e);
        }

        @Override
        public void close() {
        }
    }
}
