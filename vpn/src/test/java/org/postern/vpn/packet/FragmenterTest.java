package org.postern.vpn.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.postern.vpn.packet.TestPackets.ipv4;
import static org.postern.vpn.packet.TestPackets.ipv6;
import static org.postern.vpn.packet.TestPackets.naiveChecksum;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FragmenterTest {
    private final IpPacket parser = new IpPacket();

    private static byte[] udp(int payload) {
        byte[] udp = new byte[8 + payload];
        udp[1] = 53;
        udp[3] = 53;
        udp[4] = (byte) (udp.length >>> 8);
        udp[5] = (byte) udp.length;
        for (int i = 8; i < udp.length; i++) {
            udp[i] = (byte) (i * 7);
        }
        return udp;
    }

    private List<ByteBuf> fragment(byte[] packet, int mtu) {
        ByteBuf buf = Unpooled.wrappedBuffer(packet);
        assertThat(parser.parse(buf)).isTrue();
        List<ByteBuf> out = Fragmenter.fragment(buf, parser, mtu, UnpooledByteBufAllocator.DEFAULT);
        assertThat(buf.readerIndex()).isZero();
        assertThat(buf.refCnt()).isEqualTo(1);
        return out;
    }

    @Test
    void aPacketAboveTheMtu_becomesFragmentsThatFit_withOffsetsFlagsAndChecksums() {
        byte[] udp = udp(3000);
        byte[] whole = ipv4(IpPacket.UDP, "10.88.0.5", "100.64.0.2", 0, new byte[0], udp);
        List<ByteBuf> fragments = fragment(whole, 1403);
        try {
            assertThat(fragments).hasSize(3);
            int[] sizes = {1376, 1376, 256};
            int[] flags = {0x2000, 0x2000 | 172, 344};
            for (int i = 0; i < 3; i++) {
                byte[] f = ByteBufUtil.getBytes(fragments.get(i));
                assertThat(f.length).isEqualTo(20 + sizes[i]).isLessThanOrEqualTo(1403);
                assertThat(((f[2] & 0xFF) << 8) | (f[3] & 0xFF)).as("total length").isEqualTo(f.length);
                assertThat(((f[6] & 0xFF) << 8) | (f[7] & 0xFF)).as("flags and offset of %d", i).isEqualTo(flags[i]);
                assertThat(naiveChecksum(f, 0, 20, 0)).as("header checksum by hand").isZero();
                assertThat(Arrays.copyOfRange(f, 4, 6)).as("identification kept").isEqualTo(Arrays.copyOfRange(whole, 4, 6));
                assertThat(Arrays.copyOfRange(f, 20, f.length)).isEqualTo(Arrays.copyOfRange(udp, i * 1376, i * 1376 + sizes[i]));
            }
        } finally {
            fragments.forEach(ByteBuf::release);
        }
    }

    @Test
    void theFragments_reassembleToTheOriginal() {
        byte[] whole = ipv4(IpPacket.UDP, "10.88.0.5", "100.64.0.2", 0, new byte[0], udp(5000));
        List<ByteBuf> fragments = fragment(whole, 576);
        try (Reassembler reassembler = new Reassembler(UnpooledByteBufAllocator.DEFAULT, (r, n) -> {
            throw new AssertionError(r + ":" + n);
        })) {
            ByteBuf out = null;
            for (ByteBuf f : fragments.reversed()) {
                assertThat(out).isNull();
                assertThat(parser.parse(f)).isTrue();
                out = reassembler.add(f, parser, 0);
            }
            assertThat(out).isNotNull();
            assertThat(ByteBufUtil.getBytes(out)).isEqualTo(whole);
            out.release();
        }
    }

    @Test
    void aFragmentSplitFurther_continuesItsOffsets_andOnlyItsLastPieceKeepsMf() {
        byte[] fragment = ipv4(IpPacket.UDP, "10.88.0.5", "100.64.0.2", 0x2000 | 100, new byte[0], new byte[1600]);
        List<ByteBuf> pieces = fragment(fragment, 1000);
        try {
            assertThat(pieces).hasSize(2);
            assertThat(pieces.get(0).getUnsignedShort(6)).isEqualTo(0x2000 | 100);
            assertThat(pieces.get(1).getUnsignedShort(6)).isEqualTo(0x2000 | (100 + 976 / 8));
        } finally {
            pieces.forEach(ByteBuf::release);
        }
    }

    @Test
    void dfSetIpv6AndOptions_mayNotBeFragmented() {
        assertThat(parser.parse(Unpooled.wrappedBuffer(ipv4(IpPacket.UDP, "10.88.0.5", "100.64.0.2", 0x4000,
                new byte[0], udp(2000))))).isTrue();
        assertThat(Fragmenter.mayFragment(parser)).isFalse();
        assertThatThrownBy(() -> Fragmenter.fragment(Unpooled.EMPTY_BUFFER, parser, 1400, UnpooledByteBufAllocator.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("DF set");
        assertThat(parser.parse(Unpooled.wrappedBuffer(ipv6(IpPacket.UDP, "fd00::5", "fd00::2", udp(2000))))).isTrue();
        assertThat(Fragmenter.mayFragment(parser)).isFalse();
        assertThat(parser.parse(Unpooled.wrappedBuffer(ipv4(IpPacket.UDP, "10.88.0.5", "100.64.0.2", 0,
                new byte[] {1, 1, 1, 0}, udp(2000))))).isTrue();
        assertThat(Fragmenter.mayFragment(parser)).isFalse();
    }

    @Test
    void anMtuTooSmallForEightBytes_isRefused() {
        byte[] whole = ipv4(IpPacket.UDP, "10.88.0.5", "100.64.0.2", 0, new byte[0], udp(100));
        assertThat(parser.parse(Unpooled.wrappedBuffer(whole))).isTrue();
        assertThatThrownBy(() -> Fragmenter.fragment(Unpooled.wrappedBuffer(whole), parser, 27, UnpooledByteBufAllocator.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 28");
    }
}
