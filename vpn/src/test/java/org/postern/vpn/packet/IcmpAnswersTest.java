package org.postern.vpn.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.postern.vpn.packet.TestPackets.addr;
import static org.postern.vpn.packet.TestPackets.buf;
import static org.postern.vpn.packet.TestPackets.concat;
import static org.postern.vpn.packet.TestPackets.hex;
import static org.postern.vpn.packet.TestPackets.ipv4;
import static org.postern.vpn.packet.TestPackets.ipv6;
import static org.postern.vpn.packet.TestPackets.naiveChecksum;
import static org.postern.vpn.packet.TestPackets.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.net.InetAddress;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class IcmpAnswersTest {
    private static final UnpooledByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final InetAddress GATEWAY4 = ip("100.64.0.1");
    private static final InetAddress GATEWAY6 = ip("fd00:706f:7374::1");

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static IpPacket parsed(byte[] bytes) {
        IpPacket packet = new IpPacket();
        assertThat(packet.parse(buf(bytes))).as("test packet parses").isTrue();
        return packet;
    }

    private static byte[] bytes(ByteBuf buf) {
        byte[] out = ByteBufUtil.getBytes(buf);
        buf.release();
        return out;
    }

    @Test
    void prohibited_ipv4_isType3Code13_fromTheGateway_quotingThePacket_withValidChecksums() {
        byte[] syn = ipv4(IpPacket.TCP, "100.64.0.2", "10.0.0.9", 0x4000, new byte[0], tcp(51_000, 3389, IpPacket.TCP_SYN));
        byte[] answer = bytes(IcmpAnswers.administrativelyProhibited(buf(syn), parsed(syn), GATEWAY4, ALLOC));

        assertThat(answer).hasSize(20 + 8 + 40);
        assertThat(answer[0]).isEqualTo((byte) 0x45);
        assertThat(((answer[2] & 0xFF) << 8) | (answer[3] & 0xFF)).isEqualTo(68);
        assertThat(answer[9]).as("protocol ICMP").isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(answer, 12, 16)).isEqualTo(addr("100.64.0.1"));
        assertThat(Arrays.copyOfRange(answer, 16, 20)).isEqualTo(addr("100.64.0.2"));
        assertThat(naiveChecksum(answer, 0, 20, 0)).as("IPv4 header checksum verifies").isZero();
        assertThat(answer[20]).as("type").isEqualTo((byte) 3);
        assertThat(answer[21]).as("code").isEqualTo((byte) 13);
        assertThat(Arrays.copyOfRange(answer, 24, 28)).as("unused").containsOnly(0);
        assertThat(naiveChecksum(answer, 20, answer.length - 20, 0)).as("ICMP checksum verifies").isZero();
        assertThat(Arrays.copyOfRange(answer, 28, answer.length)).as("quote").isEqualTo(syn);

        IpPacket back = parsed(answer);
        assertThat(back.isIcmpError()).isTrue();
        assertThat(IcmpAnswers.administrativelyProhibited(buf(answer), back, GATEWAY4, ALLOC))
                .as("never an ICMP error about an ICMP error").isNull();
    }

    @Test
    void prohibited_ipv4_quotesAtMost576Bytes_andNotTrailingBytes() {
        byte[] big = ipv4(IpPacket.UDP, "100.64.0.2", "10.0.0.9", 0, new byte[0], concat(hex("1f90005005c80000"), new byte[1472]));
        byte[] answer = bytes(IcmpAnswers.administrativelyProhibited(buf(big), parsed(big), GATEWAY4, ALLOC));
        assertThat(answer).hasSize(576);
        assertThat(Arrays.copyOfRange(answer, 28, 576)).isEqualTo(Arrays.copyOf(big, 548));
        assertThat(naiveChecksum(answer, 20, 556, 0)).isZero();

        byte[] small = ipv4(IpPacket.UDP, "100.64.0.2", "10.0.0.9", 0, new byte[0], hex("1f90005000080000"));
        byte[] answerSmall = bytes(IcmpAnswers.administrativelyProhibited(
                buf(concat(small, hex("deadbeef"))), parsed(small), GATEWAY4, ALLOC));
        assertThat(answerSmall).hasSize(28 + 28);
    }

    @Test
    void packetTooBig_ipv4_carriesTheNextHopMtu() {
        byte[] big = ipv4(IpPacket.UDP, "100.64.0.2", "10.0.0.9", 0x4000, new byte[0], concat(hex("1f90005005c80000"), new byte[1472]));
        byte[] answer = bytes(IcmpAnswers.packetTooBig(buf(big), parsed(big), GATEWAY4, 1400, ALLOC));
        assertThat(answer[20]).isEqualTo((byte) 3);
        assertThat(answer[21]).isEqualTo((byte) 4);
        assertThat(((answer[26] & 0xFF) << 8) | (answer[27] & 0xFF)).isEqualTo(1400);
        assertThat(naiveChecksum(answer, 20, answer.length - 20, 0)).isZero();
    }

    @Test
    void prohibited_ipv6_isType1Code1_withThePseudoHeaderChecksum_within1280Bytes() {
        byte[] udp = concat(hex("c350 0035 05b8 0000"), new byte[1456]);
        byte[] packet = ipv6(IpPacket.UDP, "fd00:706f:7374::2", "fd00:a::9", udp);
        byte[] answer = bytes(IcmpAnswers.administrativelyProhibited(buf(packet), parsed(packet), GATEWAY6, ALLOC));

        assertThat(answer).hasSize(1280);
        assertThat(answer[0]).isEqualTo((byte) 0x60);
        assertThat(((answer[4] & 0xFF) << 8) | (answer[5] & 0xFF)).as("payload length").isEqualTo(1240);
        assertThat(answer[6]).as("next header ICMPv6").isEqualTo((byte) 58);
        assertThat(Arrays.copyOfRange(answer, 8, 24)).isEqualTo(addr("fd00:706f:7374::1"));
        assertThat(Arrays.copyOfRange(answer, 24, 40)).isEqualTo(addr("fd00:706f:7374::2"));
        assertThat(answer[40]).isEqualTo((byte) 1);
        assertThat(answer[41]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(answer, 48, 1280)).isEqualTo(Arrays.copyOf(packet, 1232));
        // pseudo-header (RFC 8200 §8.1) summed by hand: addresses, length 1240, next header 58
        byte[] pseudo = concat(Arrays.copyOfRange(answer, 8, 40), hex("000004d8 0000003a"));
        int pseudoSum = ~naiveChecksum(pseudo, 0, pseudo.length, 0) & 0xFFFF;
        assertThat(naiveChecksum(answer, 40, 1240, pseudoSum)).as("ICMPv6 checksum verifies").isZero();
    }

    @Test
    void packetTooBig_ipv6_carries32BitMtu_evenToAMulticastDestination() {
        byte[] packet = ipv6(IpPacket.UDP, "fd00::2", "ff05::fb", concat(hex("14e914e905c80000"), new byte[1472]));
        IpPacket parsed = parsed(packet);
        assertThat(IcmpAnswers.administrativelyProhibited(buf(packet), parsed, GATEWAY6, ALLOC)).isNull();
        byte[] answer = bytes(IcmpAnswers.packetTooBig(buf(packet), parsed, GATEWAY6, 1280, ALLOC));
        assertThat(answer[40]).isEqualTo((byte) 2);
        assertThat(answer[41]).isZero();
        assertThat(Arrays.copyOfRange(answer, 44, 48)).isEqualTo(hex("00000500"));
    }

    @Test
    void noAnswer_forLaterFragments_broadcast_multicast_orUnspecifiedSource() {
        byte[] later = ipv4(IpPacket.UDP, "100.64.0.2", "10.0.0.9", 185, new byte[0], new byte[16]);
        byte[] broadcast = ipv4(IpPacket.UDP, "100.64.0.2", "255.255.255.255", 0, new byte[0], hex("0044004300080000"));
        byte[] multicast = ipv4(IpPacket.UDP, "100.64.0.2", "224.0.0.251", 0, new byte[0], hex("14e914e900080000"));
        byte[] unspecified = ipv4(IpPacket.UDP, "0.0.0.0", "10.0.0.9", 0, new byte[0], hex("0044004300080000"));
        byte[] v6Unspecified = ipv6(IpPacket.UDP, "::", "fd00::9", hex("0044004300080000"));
        for (byte[] packet : new byte[][] {later, broadcast, multicast, unspecified}) {
            assertThat(IcmpAnswers.administrativelyProhibited(buf(packet), parsed(packet), GATEWAY4, ALLOC)).isNull();
        }
        assertThat(IcmpAnswers.administrativelyProhibited(buf(v6Unspecified), parsed(v6Unspecified), GATEWAY6, ALLOC))
                .isNull();
    }

    @Test
    void answer_toAnEchoRequest_isAllowed() {
        byte[] ping = ipv4(IpPacket.ICMP, "100.64.0.2", "10.0.0.9", 0, new byte[0], hex("0800f7ca12340001"));
        ByteBuf answer = IcmpAnswers.administrativelyProhibited(buf(ping), parsed(ping), GATEWAY4, ALLOC);
        assertThat(answer).isNotNull();
        answer.release();
    }

    @Test
    void answer_fromTheWrongFamily_isRefused() {
        byte[] ping = ipv4(IpPacket.ICMP, "100.64.0.2", "10.0.0.9", 0, new byte[0], hex("0800f7ca12340001"));
        assertThatThrownBy(() -> IcmpAnswers.administrativelyProhibited(buf(ping), parsed(ping), GATEWAY6, ALLOC))
                .hasMessage("answer source: expected an IPv4 address, found fd00:706f:7374:0:0:0:0:1");
    }
}
