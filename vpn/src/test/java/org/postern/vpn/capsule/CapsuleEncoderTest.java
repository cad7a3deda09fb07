package org.postern.vpn.capsule;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class CapsuleEncoderTest {
    private static final UnpooledByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    private static String encodeHex(Capsule capsule) {
        ByteBuf out = CapsuleEncoder.encode(capsule, ALLOC);
        try {
            return ByteBufUtil.hexDump(out);
        } finally {
            out.release();
        }
    }

    private static Capsule roundTrip(Capsule capsule) {
        List<Capsule> out = new ArrayList<>();
        CapsuleDecoder decoder = new CapsuleDecoder(ALLOC, 4096);
        decoder.decode(CapsuleEncoder.encode(capsule, ALLOC), out::add);
        assertThat(out).hasSize(1);
        return out.getFirst();
    }

    @Test
    void encode_splitTunnelExample_isTheRfcBytes() throws Exception {
        // RFC 9484 §8.1 split tunnel: ADDRESS_ASSIGN (0, 192.0.2.42/32), ROUTE_ADVERTISEMENT 192.0.2.0-192.0.2.255
        assertThat(encodeHex(new Capsule.AddressAssign(List.of(new AddressEntry(0, ip("192.0.2.42"), 32)))))
                .isEqualTo("010700" + "04" + "c000022a" + "20");
        assertThat(encodeHex(new Capsule.RouteAdvertisement(
                List.of(IpAddressRange.ofPrefix(ip("192.0.2.0"), 24, 0)))))
                .isEqualTo("030a" + "04" + "c0000200" + "c00002ff" + "00");
    }

    @Test
    void roundTrip_everyKnownType() throws Exception {
        List<Capsule> capsules = List.of(
                new Capsule.AddressAssign(List.of(
                        new AddressEntry(7, ip("100.64.0.2"), 32),
                        new AddressEntry(300, ip("fd00:706f:7374::2"), 128),
                        AddressEntry.refusal(9, 4))),
                new Capsule.AddressRequest(List.of(new AddressEntry(1_000_000, ip("::"), 128))),
                new Capsule.RouteAdvertisement(List.of(
                        IpAddressRange.ofPrefix(ip("10.0.0.0"), 8, 0),
                        IpAddressRange.ofPrefix(ip("192.168.0.0"), 16, 0),
                        IpAddressRange.ofPrefix(ip("172.16.0.0"), 12, 6),
                        IpAddressRange.ofPrefix(ip("fd00::"), 8, 0))),
                new Capsule.RouteAdvertisement(List.of()),
                new Capsule.Unknown(0x1234_5678L, new byte[] {1, 2, 3}));
        for (Capsule capsule : capsules) {
            assertThat(roundTrip(capsule)).isEqualTo(capsule);
        }
    }

    @Test
    void roundTrip_datagram_keepsThePayload() {
        ByteBuf payload = Unpooled.wrappedBuffer(HexFormat.of().parseHex("00450000"));
        Capsule.Datagram back = (Capsule.Datagram) roundTrip(new Capsule.Datagram(payload));
        assertThat(ByteBufUtil.hexDump(back.payload())).isEqualTo("00450000");
        back.release();
        assertThat(payload.refCnt()).isZero();
    }

    @Test
    void ipPacketCapsule_withHeadroom_writesInPlace() {
        ByteBuf packet = ALLOC.heapBuffer(64);
        packet.writerIndex(8).readerIndex(8);
        packet.writeBytes(HexFormat.of().parseHex("4500001c"));
        ByteBuf out = CapsuleEncoder.ipPacketCapsule(packet, ALLOC);
        assertThat(out).isSameAs(packet);
        assertThat(ByteBufUtil.hexDump(out)).isEqualTo("0005" + "00" + "4500001c");
        out.release();
    }

    @Test
    void ipPacketCapsule_withoutHeadroom_usesAComposite_andAVarintLength() {
        ByteBuf packet = Unpooled.buffer(100).writeZero(100);
        ByteBuf out = CapsuleEncoder.ipPacketCapsule(packet, ALLOC);
        assertThat(out).isInstanceOf(CompositeByteBuf.class);
        assertThat(ByteBufUtil.hexDump(out, 0, 4)).isEqualTo("00" + "4065" + "00");
        assertThat(out.readableBytes()).isEqualTo(104);
        out.release();
        assertThat(packet.refCnt()).isZero();
    }

    @Test
    void ipPacketCapsule_slice_neverWritesIntoItsParent() {
        ByteBuf parent = Unpooled.wrappedBuffer(HexFormat.of().parseHex("aabbccdd4500"));
        ByteBuf slice = parent.retainedSlice(4, 2);
        ByteBuf out = CapsuleEncoder.ipPacketCapsule(slice, ALLOC);
        assertThat(ByteBufUtil.hexDump(parent)).isEqualTo("aabbccdd4500");
        assertThat(ByteBufUtil.hexDump(out)).isEqualTo("0003004500");
        out.release();
        parent.release();
        assertThat(parent.refCnt()).isZero();
    }
}
