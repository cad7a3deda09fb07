package org.postern.vpn.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.vpn.packet.TestPackets.buf;
import static org.postern.vpn.packet.TestPackets.concat;
import static org.postern.vpn.packet.TestPackets.hex;
import static org.postern.vpn.packet.TestPackets.ipv4;
import static org.postern.vpn.packet.TestPackets.ipv6;
import static org.postern.vpn.packet.TestPackets.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class IpPacketTest {
    /** The well-known header 192.168.0.1 -> 192.168.0.199 (checksum b861), a UDP header 53 -> 58529, 87 bytes. */
    static final byte[] UDP_DNS_ANSWER = concat(hex("45000073000040004011b861c0a80001c0a800c7"),
            hex("0035e4a1005f0000"), new byte[87]);

    private final IpPacket packet = new IpPacket();

    @Test
    void parse_ipv4Udp_readsEveryField_withoutMovingTheReaderIndex() throws Exception {
        ByteBuf buf = Unpooled.buffer().writeZero(5).writeBytes(UDP_DNS_ANSWER);
        buf.readerIndex(5);
        assertThat(packet.parse(buf)).isTrue();
        assertThat(buf.readerIndex()).isEqualTo(5);
        assertThat(packet.malformed()).isNull();
        assertThat(packet.ipVersion()).isEqualTo(4);
        assertThat(packet.headerLength()).isEqualTo(20);
        assertThat(packet.length()).isEqualTo(115);
        assertThat(packet.protocol()).isEqualTo(IpPacket.UDP);
        assertThat(packet.source()).isEqualTo(InetAddress.getByName("192.168.0.1"));
        assertThat(packet.destination()).isEqualTo(InetAddress.getByName("192.168.0.199"));
        assertThat(packet.sourcePort()).isEqualTo(53);
        assertThat(packet.destinationPort()).isEqualTo(58529);
        assertThat(packet.isFragment()).isFalse();
        assertThat(packet.hasIpv4Options()).isFalse();
        assertThat(packet.hasTransportHeader()).isTrue();
        assertThat(packet.flowKey().toString()).isEqualTo("udp 192.168.0.1:53 -> 192.168.0.199:58529");
    }

    @Test
    void parse_trailingBytes_areIgnored() {
        assertThat(packet.parse(buf(concat(UDP_DNS_ANSWER, new byte[10])))).isTrue();
        assertThat(packet.length()).isEqualTo(115);
    }

    @Test
    void parse_fewerBytesThanTotalLength_isTruncated() {
        assertThat(packet.parse(Unpooled.wrappedBuffer(UDP_DNS_ANSWER, 0, 114))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.TRUNCATED);
    }

    @Test
    void parse_badHeaderChecksum_isRefused() {
        byte[] bad = UDP_DNS_ANSWER.clone();
        bad[11] = 0x62;
        assertThat(packet.parse(buf(bad))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.BAD_HEADER_CHECKSUM);
    }

    @Test
    void parse_badVersionIhlTotalLengthOrNothing_isRefusedWithItsReason() {
        byte[] v5 = UDP_DNS_ANSWER.clone();
        v5[0] = 0x55;
        assertThat(packet.parse(buf(v5))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.BAD_VERSION);

        byte[] ihl4 = UDP_DNS_ANSWER.clone();
        ihl4[0] = 0x44;
        assertThat(packet.parse(buf(ihl4))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.BAD_HEADER_LENGTH);

        byte[] short19 = UDP_DNS_ANSWER.clone();
        short19[2] = 0;
        short19[3] = 19;
        assertThat(packet.parse(buf(short19))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.BAD_TOTAL_LENGTH);

        assertThat(packet.parse(Unpooled.EMPTY_BUFFER)).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.TRUNCATED);
        assertThat(packet.parse(buf(new byte[] {0x45, 0}))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.TRUNCATED);
    }

    @Test
    void parse_tcpSyn_readsFlagsAndPorts() {
        byte[] syn = ipv4(IpPacket.TCP, "100.64.0.2", "10.0.0.5", 0x4000, new byte[0],
                tcp(51_000, 22, IpPacket.TCP_SYN));
        assertThat(packet.parse(buf(syn))).isTrue();
        assertThat(packet.isSyn()).isTrue();
        assertThat(packet.isAck() || packet.isFin() || packet.isRst()).isFalse();
        assertThat(packet.sourcePort()).isEqualTo(51_000);
        assertThat(packet.destinationPort()).isEqualTo(22);
        assertThat(packet.isFragment()).as("DF is not a fragment").isFalse();
        assertThat(packet.dontFragment()).isTrue();

        byte[] finAck = ipv4(IpPacket.TCP, "10.0.0.5", "100.64.0.2", 0, new byte[0],
                tcp(22, 51_000, IpPacket.TCP_FIN | IpPacket.TCP_ACK));
        IpPacket reply = new IpPacket();
        assertThat(reply.parse(buf(finAck))).isTrue();
        assertThat(reply.isFin() && reply.isAck()).isTrue();
        assertThat(reply.replyFlowKey()).isEqualTo(packet.flowKey());
        assertThat(reply.replyFlowKey().hashCode()).isEqualTo(packet.flowKey().hashCode());
    }

    @Test
    void parse_ipv4Options_areNoticed() {
        byte[] withOptions = ipv4(IpPacket.UDP, "100.64.0.2", "10.0.0.5", 0, hex("01010100"), hex("1f90005000080000"));
        assertThat(packet.parse(buf(withOptions))).isTrue();
        assertThat(packet.hasIpv4Options()).isTrue();
        assertThat(packet.headerLength()).isEqualTo(24);
        assertThat(packet.destinationPort()).isEqualTo(80);
    }

    @Test
    void parse_ipv4Fragments_firstHasPorts_laterHaveNone() {
        byte[] first = ipv4(IpPacket.UDP, "100.64.0.2", "10.0.0.5", 0x2000, new byte[0], hex("1f90005005dc0000"));
        assertThat(packet.parse(buf(first))).isTrue();
        assertThat(packet.isFragment()).isTrue();
        assertThat(packet.fragmentOffset()).isZero();
        assertThat(packet.moreFragments()).isTrue();
        assertThat(packet.identification()).isEqualTo(0x1c46);
        assertThat(packet.hasTransportHeader()).isTrue();

        byte[] later = ipv4(IpPacket.UDP, "100.64.0.2", "10.0.0.5", 185, new byte[0], new byte[16]);
        assertThat(packet.parse(buf(later))).isTrue();
        assertThat(packet.isFragment()).isTrue();
        assertThat(packet.moreFragments()).as("the last fragment").isFalse();
        assertThat(packet.fragmentOffset()).isEqualTo(1480);
        assertThat(packet.hasTransportHeader()).isFalse();
    }

    @Test
    void parse_tinyFirstFragmentOfTcp_isTruncated() {
        byte[] tiny = ipv4(IpPacket.TCP, "100.64.0.2", "10.0.0.5", 0x2000, new byte[0], new byte[8]);
        assertThat(packet.parse(buf(tiny))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.TRUNCATED);
    }

    @Test
    void parse_icmpEcho_usesTheIdentifierAsBothPorts() {
        byte[] request = ipv4(IpPacket.ICMP, "100.64.0.2", "10.0.0.5", 0, new byte[0], hex("0800f7ca12340001"));
        assertThat(packet.parse(buf(request))).isTrue();
        assertThat(packet.icmpType()).isEqualTo(8);
        assertThat(packet.icmpEchoId()).isEqualTo(0x1234);
        assertThat(packet.sourcePort()).isEqualTo(0x1234);
        assertThat(packet.destinationPort()).isEqualTo(0x1234);
        assertThat(packet.isIcmpError()).isFalse();
        FiveTuple key = packet.flowKey();

        byte[] reply = ipv4(IpPacket.ICMP, "10.0.0.5", "100.64.0.2", 0, new byte[0], hex("0000ffca12340001"));
        assertThat(packet.parse(buf(reply))).isTrue();
        assertThat(packet.replyFlowKey()).isEqualTo(key);
    }

    @Test
    void parse_icmpDestinationUnreachable_isAnError() {
        byte[] error = ipv4(IpPacket.ICMP, "10.0.0.1", "100.64.0.2", 0, new byte[0], hex("0303000000000000"));
        assertThat(packet.parse(buf(error))).isTrue();
        assertThat(packet.isIcmpError()).isTrue();
        assertThat(packet.icmpEchoId()).isEqualTo(-1);
        assertThat(packet.icmpCode()).isEqualTo(3);
    }

    @Test
    void parse_ipv6Tcp_behindHopByHopDestinationAndRoutingHeaders() throws Exception {
        byte[] hopByHop = hex("3c00 0000 0000 0000");      // next: destination options, 8 bytes
        byte[] destination = hex("2b01" + "00".repeat(14)); // next: routing, 16 bytes
        byte[] routing = hex("0600 0000 0000 0000");        // next: TCP, 8 bytes
        byte[] v6 = ipv6(0, "fd00:706f:7374::2", "2001:db8::5", concat(hopByHop, destination, routing,
                tcp(40_000, 443, IpPacket.TCP_SYN | IpPacket.TCP_ACK)));
        assertThat(packet.parse(buf(v6))).isTrue();
        assertThat(packet.ipVersion()).isEqualTo(6);
        assertThat(packet.protocol()).isEqualTo(IpPacket.TCP);
        assertThat(packet.headerLength()).isEqualTo(72);
        assertThat(packet.length()).isEqualTo(92);
        assertThat(packet.sourcePort()).isEqualTo(40_000);
        assertThat(packet.destinationPort()).isEqualTo(443);
        assertThat(packet.tcpFlags()).isEqualTo(0x12);
        assertThat(packet.source()).isEqualTo(InetAddress.getByName("fd00:706f:7374::2"));
        assertThat(packet.destination()).isEqualTo(InetAddress.getByName("2001:db8::5"));
        assertThat(packet.flowKey().toString()).isEqualTo("tcp [fd00:706f:7374:0:0:0:0:2]:40000 -> [2001:db8:0:0:0:0:0:5]:443");
    }

    @Test
    void parse_ipv6Fragments_firstHasPorts_laterHaveNone() {
        byte[] first = ipv6(44, "fd00::2", "fd00::5", concat(hex("1100 0001 0000 0001"), hex("0035003500100000")));
        assertThat(packet.parse(buf(first))).isTrue();
        assertThat(packet.isFragment()).isTrue();
        assertThat(packet.protocol()).isEqualTo(IpPacket.UDP);
        assertThat(packet.hasTransportHeader()).isTrue();

        assertThat(packet.moreFragments()).isTrue();
        assertThat(packet.identification()).isEqualTo(1);
        assertThat(packet.fragmentHeaderOffset()).isEqualTo(40);
        assertThat(packet.fragmentLinkOffset()).isEqualTo(6);

        byte[] later = ipv6(44, "fd00::2", "fd00::5", concat(hex("1100 05c8 0000 0001"), new byte[8]));
        assertThat(packet.parse(buf(later))).isTrue();
        assertThat(packet.fragmentOffset()).isEqualTo(1480);
        assertThat(packet.moreFragments()).isFalse();
        assertThat(packet.hasTransportHeader()).isFalse();
    }

    @Test
    void parse_ipv6EndlessExtensionChain_isRefused() {
        byte[] chain = hex("0000 0000 0000 0000".repeat(12));
        assertThat(packet.parse(buf(ipv6(0, "fd00::2", "fd00::5", chain)))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.EXTENSION_CHAIN_TOO_LONG);
    }

    @Test
    void parse_ipv6ExtensionBeyondPayload_isTruncated() {
        assertThat(packet.parse(buf(ipv6(0, "fd00::2", "fd00::5", hex("0605 0000 0000 0000"))))).isFalse();
        assertThat(packet.malformed()).isEqualTo(Malformed.TRUNCATED);
    }

    @Test
    void parse_icmpv6Echo_usesTheIdentifier() {
        assertThat(packet.parse(buf(ipv6(58, "fd00::2", "fd00::1", hex("8000 0000 abcd 0001"))))).isTrue();
        assertThat(packet.isIcmp()).isTrue();
        assertThat(packet.icmpEchoId()).isEqualTo(0xabcd);
        assertThat(packet.isIcmpError()).isFalse();
        assertThat(packet.flowKey().protocolName()).isEqualTo("icmpv6");
    }

    @Test
    void flowKeys_ofIpv4AndIpv4MappedIpv6_differ() {
        assertThat(packet.parse(buf(ipv4(IpPacket.UDP, "10.0.0.2", "10.0.0.5", 0, new byte[0], hex("0035003500080000")))))
                .isTrue();
        FiveTuple v4 = packet.flowKey();
        assertThat(packet.parse(buf(ipv6(17, "::ffff:10.0.0.2", "::ffff:10.0.0.5", hex("0035003500080000"))))).isTrue();
        assertThat(packet.flowKey()).isNotEqualTo(v4);
    }
}
