package org.postern.vpn.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.vpn.packet.TestPackets.concat;
import static org.postern.vpn.packet.TestPackets.hex;
import static org.postern.vpn.packet.TestPackets.ipv4;
import static org.postern.vpn.packet.TestPackets.ipv6;
import static org.postern.vpn.packet.TestPackets.naiveChecksum;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReassemblerTest {
    private static final String SRC = "100.64.0.2";
    private static final String DST = "10.0.0.5";
    private static final int MF = 0x2000;

    private final List<String> dropped = new ArrayList<>();
    private final List<ByteBuf> fed = new ArrayList<>();
    private final Reassembler reassembler = new Reassembler(UnpooledByteBufAllocator.DEFAULT,
            (reason, packets) -> dropped.add(reason + ":" + packets));
    private final IpPacket parser = new IpPacket();

    @AfterEach
    void everyBufferIsReleased() {
        reassembler.close();
        assertThat(fed).allSatisfy(b -> assertThat(b.refCnt()).as("a fragment still held").isZero());
        assertThat(reassembler.buffered()).isZero();
    }

    /** A UDP datagram (8-byte header, then {@code payload} bytes 0, 1, 2 …) as its whole IP payload. */
    private static byte[] udpPayload(int payload) {
        byte[] udp = new byte[8 + payload];
        udp[0] = (byte) 0x9c;
        udp[1] = 0x40; // 40000
        udp[3] = 53;
        udp[4] = (byte) (udp.length >>> 8);
        udp[5] = (byte) udp.length;
        for (int i = 8; i < udp.length; i++) {
            udp[i] = (byte) i;
        }
        return udp;
    }

    private ByteBuf add(int flags, byte[] whole, int from, int to) {
        return add(SRC, flags, whole, from, to);
    }

    private ByteBuf add(String src, int flags, byte[] whole, int from, int to) {
        ByteBuf packet = Unpooled.wrappedBuffer(ipv4(IpPacket.UDP, src, DST, flags | (from / 8), new byte[0],
                Arrays.copyOfRange(whole, from, to)));
        fed.add(packet);
        assertThat(parser.parse(packet)).as("%s", parser.malformed()).isTrue();
        return reassembler.add(packet, parser, 0);
    }

    private static void assertWhole(ByteBuf out, byte[] udp) {
        try {
            byte[] bytes = ByteBufUtil.getBytes(out);
            assertThat(bytes.length).isEqualTo(20 + udp.length);
            assertThat(((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF)).as("total length").isEqualTo(bytes.length);
            assertThat(bytes[6]).as("flags").isZero();
            assertThat(bytes[7]).as("offset").isZero();
            assertThat(naiveChecksum(bytes, 0, 20, 0)).as("header checksum, computed by hand").isZero();
            assertThat(Arrays.copyOfRange(bytes, 20, bytes.length)).isEqualTo(udp);
            IpPacket parsed = new IpPacket();
            assertThat(parsed.parse(out)).isTrue();
            assertThat(parsed.isFragment()).isFalse();
            assertThat(parsed.destinationPort()).isEqualTo(53);
        } finally {
            out.release();
        }
    }

    @Test
    void twoFragmentsInOrder_yieldOneWholeDatagram() {
        byte[] udp = udpPayload(1392);
        assertThat(add(MF, udp, 0, 1376)).isNull();
        assertWhole(add(0, udp, 1376, udp.length), udp);
        assertThat(reassembler.inProgress()).isZero();
        assertThat(dropped).isEmpty();
    }

    @Test
    void threeFragmentsOutOfOrder_yieldOneWholeDatagram() {
        byte[] udp = udpPayload(3000);
        assertThat(add(0, udp, 2400, udp.length)).isNull();
        assertThat(add(MF, udp, 1200, 2400)).isNull();
        assertWhole(add(MF, udp, 0, 1200), udp);
        assertThat(dropped).isEmpty();
    }

    @Test
    void exactDuplicate_onlyTheCopyIsDropped() {
        byte[] udp = udpPayload(100);
        assertThat(add(MF, udp, 0, 64)).isNull();
        assertThat(add(MF, udp, 0, 64)).isNull();
        assertThat(dropped).containsExactly("DUPLICATE:1");
        assertWhole(add(0, udp, 64, udp.length), udp);
    }

    @Test
    void duplicateWithOtherBytes_dropsTheDatagram() {
        byte[] udp = udpPayload(100);
        assertThat(add(MF, udp, 0, 64)).isNull();
        byte[] other = udp.clone();
        other[20] ^= 1;
        assertThat(add(MF, other, 0, 64)).isNull();
        assertThat(dropped).containsExactly("OVERLAP:2");
        assertThat(reassembler.inProgress()).isZero();
        assertThat(add(0, udp, 64, udp.length)).as("the rest cannot complete it").isNull();
    }

    @Test
    void overlap_dropsTheWholeDatagram() {
        byte[] udp = udpPayload(100);
        assertThat(add(MF, udp, 0, 64)).isNull();
        assertThat(add(0, udp, 56, udp.length)).isNull(); // rewrites 8 bytes (RFC 1858)
        assertThat(dropped).containsExactly("OVERLAP:2");
        assertThat(reassembler.inProgress()).isZero();
    }

    @Test
    void twoLastFragmentsThatDisagree_dropTheDatagram() {
        byte[] udp = udpPayload(200);
        assertThat(add(0, udp, 64, 128)).isNull();
        assertThat(add(0, udp, 128, udp.length)).isNull();
        assertThat(dropped).containsExactly("OVERLAP:2");
    }

    @Test
    void nonLastFragmentNotAMultipleOf8_isInvalid() {
        byte[] udp = udpPayload(100);
        assertThat(add(MF, udp, 0, 60)).isNull();
        assertThat(dropped).containsExactly("INVALID:1");
    }

    @Test
    void tooManyDatagramsInProgress_theNewOneIsDropped() {
        byte[] udp = udpPayload(100);
        for (int i = 0; i < Reassembler.MAX_DATAGRAMS; i++) {
            assertThat(add("100.64.0." + (i + 2), MF, udp, 0, 64)).isNull();
        }
        assertThat(dropped).isEmpty();
        assertThat(add("100.64.1.1", MF, udp, 0, 64)).isNull();
        assertThat(dropped).containsExactly("LIMIT:1");
        assertThat(reassembler.inProgress()).isEqualTo(Reassembler.MAX_DATAGRAMS);
    }

    @Test
    void tooManyBytesHeld_dropsTheDatagram() {
        byte[] udp = udpPayload(65100);
        for (int source = 0; source < 5 && dropped.isEmpty(); source++) {
            for (int i = 0; i < 43 && dropped.isEmpty(); i++) {
                assertThat(add("100.64.0." + (2 + source), MF, udp, i * 1480, (i + 1) * 1480)).isNull();
            }
        }
        assertThat(dropped).hasSize(1).first().asString().startsWith("LIMIT:");
        assertThat(reassembler.buffered()).isBetween(Reassembler.MAX_BUFFERED - 1500 * 43, Reassembler.MAX_BUFFERED);
    }

    @Test
    void largerThan65535_isDropped() {
        byte[] udp = udpPayload(65600);
        assertThat(add(0, udp, 65520, udp.length)).isNull();
        assertThat(dropped).containsExactly("LIMIT:1");
    }

    @Test
    void incomplete_expiresAfterTimeout() {
        byte[] udp = udpPayload(100);
        assertThat(add(MF, udp, 0, 64)).isNull();
        reassembler.expire(Reassembler.TIMEOUT.toNanos() - 1);
        assertThat(dropped).isEmpty();
        reassembler.expire(Reassembler.TIMEOUT.toNanos());
        assertThat(dropped).containsExactly("TIMEOUT:1");
        assertThat(reassembler.inProgress()).isZero();
    }

    @Test
    void close_dropsWhatIsHeld() {
        byte[] udp = udpPayload(100);
        assertThat(add(MF, udp, 0, 64)).isNull();
        reassembler.close();
        assertThat(dropped).containsExactly("TIMEOUT:1");
    }

    /** An IPv6 fragment: {@code before} (extension headers ending in next header 44), the Fragment header, the bytes. */
    private ByteBuf add6(int firstNext, byte[] before, int fragmentNext, int from, boolean more, byte[] whole, int to) {
        byte[] fragmentHeader = new byte[8];
        fragmentHeader[0] = (byte) fragmentNext;
        fragmentHeader[2] = (byte) (from >>> 8);
        fragmentHeader[3] = (byte) (from | (more ? 1 : 0));
        fragmentHeader[7] = 9; // identification 9
        ByteBuf packet = Unpooled.wrappedBuffer(ipv6(firstNext, "fd00::2", "fd00::5",
                concat(before, fragmentHeader, Arrays.copyOfRange(whole, from, to))));
        fed.add(packet);
        assertThat(parser.parse(packet)).as("%s", parser.malformed()).isTrue();
        return reassembler.add(packet, parser, 0);
    }

    @Test
    void ipv6_twoFragmentsOutOfOrder_yieldTheDatagramWithoutItsFragmentHeader() {
        byte[] udp = udpPayload(1400);
        assertThat(add6(44, new byte[0], IpPacket.UDP, 1232, false, udp, udp.length)).isNull();
        ByteBuf out = add6(44, new byte[0], IpPacket.UDP, 0, true, udp, 1232);
        try {
            assertThat(ByteBufUtil.getBytes(out)).isEqualTo(ipv6(IpPacket.UDP, "fd00::2", "fd00::5", udp));
        } finally {
            out.release();
        }
        assertThat(dropped).isEmpty();
    }

    @Test
    void ipv6_afterDestinationOptions_theOptionsHeaderNowNamesTheTransport() {
        byte[] udp = udpPayload(200);
        byte[] options = hex("2c00 0104 0000 0000"); // next: fragment; PadN
        assertThat(add6(60, options, IpPacket.UDP, 0, true, udp, 104)).isNull();
        ByteBuf out = add6(60, options, IpPacket.UDP, 104, false, udp, udp.length);
        try {
            assertThat(ByteBufUtil.getBytes(out)).isEqualTo(ipv6(60, "fd00::2", "fd00::5",
                    concat(hex("1100 0104 0000 0000"), udp)));
            IpPacket parsed = new IpPacket();
            assertThat(parsed.parse(out)).isTrue();
            assertThat(parsed.isFragment()).isFalse();
            assertThat(parsed.destinationPort()).isEqualTo(53);
        } finally {
            out.release();
        }
    }

    @Test
    void ipv6_overlap_dropsTheDatagram() {
        byte[] udp = udpPayload(200);
        assertThat(add6(44, new byte[0], IpPacket.UDP, 0, true, udp, 104)).isNull();
        assertThat(add6(44, new byte[0], IpPacket.UDP, 96, false, udp, udp.length)).isNull();
        assertThat(dropped).containsExactly("OVERLAP:2");
    }
}
