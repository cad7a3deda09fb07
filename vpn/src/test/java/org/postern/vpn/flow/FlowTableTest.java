package org.postern.vpn.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.postern.vpn.packet.InternetChecksum;
import org.postern.vpn.packet.IpPacket;

class FlowTableTest {
    private static final long SECOND = 1_000_000_000L;
    private static final String DEVICE = "100.64.0.2";
    private static final String HOST = "10.0.0.5";

    private final FlowTable table = new FlowTable(FlowTimeouts.defaults(), 4, 3);
    private long now = 1_000 * SECOND;

    /**
     * An IPv4 packet with a valid header checksum and an 8- or 20-byte transport header; for ICMP the
     * last argument is the type and the source port the echo identifier.
     */
    private static ByteBuf packet(int protocol, String src, String dst, int srcPort, int dstPort, int tcpFlags) {
        try {
            int transport = protocol == IpPacket.TCP ? 20 : 8;
            ByteBuf buf = Unpooled.buffer(20 + transport);
            buf.writeByte(0x45).writeByte(0).writeShort(20 + transport).writeInt(0).writeByte(64).writeByte(protocol)
                    .writeShort(0).writeBytes(InetAddress.getByName(src).getAddress())
                    .writeBytes(InetAddress.getByName(dst).getAddress());
            buf.setShort(10, InternetChecksum.compute(buf, 0, 20));
            if (protocol == IpPacket.ICMP) {
                buf.writeByte(tcpFlags).writeByte(0).writeShort(0).writeShort(srcPort)
                        .writeShort(1);
            } else {
                buf.writeShort(srcPort).writeShort(dstPort);
                if (protocol == IpPacket.TCP) {
                    buf.writeZero(8).writeByte(0x50).writeByte(tcpFlags).writeZero(6);
                } else {
                    buf.writeShort(8).writeShort(0);
                }
            }
            return buf;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static IpPacket parse(ByteBuf buf) {
        IpPacket parsed = new IpPacket();
        assertThat(parsed.parse(buf)).as("test packet parses").isTrue();
        return parsed;
    }

    private Flow out(int protocol, int srcPort, int dstPort, int flags) {
        return table.fromDevice(parse(packet(protocol, DEVICE, HOST, srcPort, dstPort, flags)), now);
    }

    private Flow back(int protocol, int srcPort, int dstPort, int flags) {
        return table.toDevice(parse(packet(protocol, HOST, DEVICE, srcPort, dstPort, flags)), now);
    }

    private Flow syn() {
        return out(IpPacket.TCP, 50_000, 22, IpPacket.TCP_SYN);
    }

    @Test
    void newFlow_isPendingAndNewOnce_holdsPackets_andAllowReturnsThemInOrder() {
        Flow flow = syn();
        assertThat(flow.state()).isEqualTo(FlowState.PENDING);
        assertThat(flow.isNew()).isTrue();
        ByteBuf first = Unpooled.wrappedBuffer(new byte[] {1});
        table.hold(flow, first);
        Flow again = syn();
        assertThat(again).isSameAs(flow);
        assertThat(again.isNew()).isFalse();
        ByteBuf second = Unpooled.wrappedBuffer(new byte[] {2});
        table.hold(flow, second);

        List<ByteBuf> released = table.allow(flow, now);
        assertThat(released).containsExactly(first, second);
        assertThat(flow.state()).isEqualTo(FlowState.ALLOWED);
        assertThat(flow.heldPackets()).isZero();
        assertThat(flow.packetsFromDevice()).isEqualTo(2);
        assertThat(flow.bytesFromDevice()).isEqualTo(80);
        released.forEach(ByteBuf::release);
    }

    @Test
    void hold_beyondTheBound_dropsTheOldest() {
        Flow flow = syn();
        ByteBuf[] packets = new ByteBuf[5];
        for (int i = 0; i < packets.length; i++) {
            packets[i] = Unpooled.buffer(1).writeByte(i);
            table.hold(flow, packets[i]);
        }
        assertThat(packets[0].refCnt()).isZero();
        assertThat(packets[1].refCnt()).isZero();
        assertThat(flow.heldPackets()).isEqualTo(3);
        assertThat(flow.droppedWhilePending()).isEqualTo(2);
        assertThat(table.allow(flow, now)).containsExactly(packets[2], packets[3], packets[4]);
    }

    @Test
    void deny_releasesHeldPackets_isRememberedForItsTime_thenTheGateIsAskedAgain() {
        Flow flow = syn();
        ByteBuf held = Unpooled.buffer(1).writeByte(1);
        table.hold(flow, held);
        table.deny(flow, now);
        assertThat(held.refCnt()).isZero();
        assertThat(flow.state()).isEqualTo(FlowState.DENIED);

        now += 29 * SECOND;
        Flow still = syn();
        assertThat(still).isSameAs(flow);
        assertThat(still.state()).isEqualTo(FlowState.DENIED);
        assertThat(still.isNew()).isFalse();
        assertThat(back(IpPacket.TCP, 22, 50_000, IpPacket.TCP_SYN | IpPacket.TCP_ACK)).isNull();

        now += SECOND;
        Flow fresh = syn();
        assertThat(fresh).isNotSameAs(flow);
        assertThat(fresh.isNew()).isTrue();
        assertThat(fresh.state()).isEqualTo(FlowState.PENDING);
        assertThat(table.sweep(now)).containsExactly(new EndedFlow(flow, EndReason.DENIAL_EXPIRED));
    }

    @Test
    void returnTraffic_passesOnlyForAnAllowedFlow() {
        assertThat(back(IpPacket.UDP, 53, 40_000, 0)).as("unknown flow").isNull();
        Flow flow = out(IpPacket.UDP, 40_000, 53, 0);
        assertThat(back(IpPacket.UDP, 53, 40_000, 0)).as("pending").isNull();
        table.allow(flow, now);
        assertThat(back(IpPacket.UDP, 53, 40_000, 0)).isSameAs(flow);
        assertThat(back(IpPacket.UDP, 53, 40_001, 0)).as("other port").isNull();
        assertThat(flow.packetsToDevice()).isEqualTo(1);
        assertThat(flow.bytesToDevice()).isEqualTo(28);
    }

    @Test
    void icmpEchoReply_matchesTheRequestsFlow_andIdlesAfter30s() {
        Flow flow = out(IpPacket.ICMP, 0x1234, 0x1234, 8);
        table.allow(flow, now);
        assertThat(back(IpPacket.ICMP, 0x1234, 0x1234, 0)).isSameAs(flow);
        now += 29 * SECOND;
        assertThat(table.sweep(now)).isEmpty();
        now += SECOND;
        assertThat(table.sweep(now)).containsExactly(new EndedFlow(flow, EndReason.IDLE));
    }

    @Test
    void tcp_halfOpenIdles2min_establishedLasts1h() {
        Flow halfOpen = syn();
        table.allow(halfOpen, now);
        Flow established = out(IpPacket.TCP, 50_001, 443, IpPacket.TCP_SYN);
        table.allow(established, now);
        back(IpPacket.TCP, 443, 50_001, IpPacket.TCP_SYN | IpPacket.TCP_ACK);

        now += 119 * SECOND;
        assertThat(table.sweep(now)).isEmpty();
        now += SECOND;
        assertThat(table.sweep(now)).containsExactly(new EndedFlow(halfOpen, EndReason.IDLE));
        now += Duration.ofMinutes(57).toNanos();
        assertThat(table.sweep(now)).isEmpty();
        now += Duration.ofMinutes(1).toNanos();
        assertThat(table.sweep(now)).containsExactly(new EndedFlow(established, EndReason.IDLE));
    }

    @Test
    void tcp_finBothWays_endsAsClosedAfter10s() {
        Flow flow = syn();
        table.allow(flow, now);
        back(IpPacket.TCP, 22, 50_000, IpPacket.TCP_SYN | IpPacket.TCP_ACK);
        out(IpPacket.TCP, 50_000, 22, IpPacket.TCP_FIN | IpPacket.TCP_ACK);
        assertThat(flow.isTcpClosed()).isFalse();
        back(IpPacket.TCP, 22, 50_000, IpPacket.TCP_FIN | IpPacket.TCP_ACK);
        assertThat(flow.isTcpClosed()).isTrue();
        now += 9 * SECOND;
        assertThat(table.sweep(now)).isEmpty();
        now += SECOND;
        assertThat(table.sweep(now)).containsExactly(new EndedFlow(flow, EndReason.TCP_CLOSED));
        assertThat(table.size()).isZero();
    }

    @Test
    void tcp_rst_closes_andAFreshSynOnTheSamePorts_startsANewFlow() {
        Flow flow = syn();
        table.allow(flow, now);
        back(IpPacket.TCP, 22, 50_000, IpPacket.TCP_RST | IpPacket.TCP_ACK);
        assertThat(flow.isTcpClosed()).isTrue();
        now += SECOND;
        Flow reused = syn();
        assertThat(reused).isNotSameAs(flow);
        assertThat(reused.isNew()).isTrue();
        assertThat(reused.state()).isEqualTo(FlowState.PENDING);
        assertThat(table.sweep(now)).containsExactly(new EndedFlow(flow, EndReason.TCP_CLOSED));
    }

    @Test
    void udp_idlesAfter60s() {
        Flow flow = out(IpPacket.UDP, 40_000, 53, 0);
        table.allow(flow, now);
        now += 59 * SECOND;
        back(IpPacket.UDP, 53, 40_000, 0);
        now += 59 * SECOND;
        assertThat(table.sweep(now)).isEmpty();
        now += SECOND;
        assertThat(table.sweep(now)).extracting(EndedFlow::reason).containsExactly(EndReason.IDLE);
    }

    @Test
    void maxFlows_refusesTheNextClearly_untilOneEnds() {
        for (int port = 1; port <= 4; port++) {
            out(IpPacket.UDP, 40_000, port, 0);
        }
        assertThatThrownBy(() -> out(IpPacket.UDP, 40_000, 5, 0))
                .isInstanceOf(FlowLimitException.class)
                .hasMessage("session already tracks 4 flows (the most allowed); refusing new flow "
                        + "udp 100.64.0.2:40000 -> 10.0.0.5:5");
        assertThat(out(IpPacket.UDP, 40_000, 4, 0).isNew()).as("known flows still pass").isFalse();
        now += 60 * SECOND;
        assertThat(table.sweep(now)).hasSize(4);
        assertThat(out(IpPacket.UDP, 40_000, 5, 0).isNew()).isTrue();
    }

    @Test
    void verdictForAnEndedFlow_isIgnored() {
        Flow flow = syn();
        ByteBuf held = Unpooled.buffer(1).writeByte(1);
        table.hold(flow, held);
        now += 120 * SECOND;
        assertThat(table.sweep(now)).containsExactly(new EndedFlow(flow, EndReason.IDLE));
        assertThat(held.refCnt()).isZero();
        assertThat(table.allow(flow, now)).isEmpty();
        assertThat(flow.state()).isEqualTo(FlowState.PENDING);
        ByteBuf late = Unpooled.buffer(1);
        assertThatThrownBy(() -> table.hold(flow, late)).isInstanceOf(IllegalStateException.class);
        assertThat(late.refCnt()).isZero();
    }

    @Test
    void closeAll_endsEverything_andReleasesHeldPackets() {
        Flow pending = syn();
        ByteBuf held = Unpooled.buffer(1).writeByte(1);
        table.hold(pending, held);
        Flow allowed = out(IpPacket.UDP, 40_000, 53, 0);
        table.allow(allowed, now);
        assertThat(table.closeAll()).extracting(EndedFlow::reason)
                .containsOnly(EndReason.SESSION_END).hasSize(2);
        assertThat(held.refCnt()).isZero();
        assertThat(table.size()).isZero();
    }

    @Test
    void timeouts_mustBePositive() {
        assertThatThrownBy(() -> new FlowTimeouts(Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessage("flow timeout tcpEstablished: expected a positive duration, found PT0S");
        assertThat(FlowTimeouts.defaults().tcpEstablished()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void withdraw_endsAnAllowedFlowAtOnce_repliesStopPassing_nextPacketIsANewPendingFlow() {
        Flow flow = syn();
        table.allow(flow, now);
        assertThat(back(IpPacket.TCP, 22, 50_000, IpPacket.TCP_SYN | IpPacket.TCP_ACK)).isSameAs(flow);

        assertThat(table.withdraw(flow)).isTrue();
        assertThat(table.size()).isZero();
        assertThat(back(IpPacket.TCP, 22, 50_000, IpPacket.TCP_ACK)).as("no reply passes for it").isNull();
        assertThat(table.withdraw(flow)).as("once").isFalse();
        assertThat(table.sweep(now)).as("not reported again by the sweep").isEmpty();

        Flow next = out(IpPacket.TCP, 50_000, 22, IpPacket.TCP_ACK);
        assertThat(next).isNotSameAs(flow);
        assertThat(next.state()).as("asks the gate again").isEqualTo(FlowState.PENDING);
        assertThat(next.isNew()).isTrue();
    }
}
