package org.postern.vpn.capsule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CapsuleDecoderTest {
    private static ResourceLeakDetector.Level previous;

    private final CapsuleDecoder decoder = new CapsuleDecoder(UnpooledByteBufAllocator.DEFAULT, 1500);
    private final List<Capsule> out = new ArrayList<>();

    @BeforeAll
    static void paranoid() {
        previous = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @AfterAll
    static void restore() {
        ResourceLeakDetector.setLevel(previous);
    }

    private static ByteBuf hex(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex.replace(" ", "")));
    }

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @Test
    void decode_rfc9484AddressAssignExample_givesTheAssignedAddress() throws Exception {
        // RFC 9484 §8.1: ADDRESS_ASSIGN (Request ID 1, IPv4, 192.0.2.11, /32)
        decoder.decode(hex("01 07 01 04 c000020b 20"), out::add);
        assertThat(out).containsExactly(
                new Capsule.AddressAssign(List.of(new AddressEntry(1, ip("192.0.2.11"), 32))));
    }

    @Test
    void decode_addressRequestForAnyIpv4_andIpv6Prefix() throws Exception {
        decoder.decode(hex("02 1a 01 04 00000000 20 02 06 fd00706f737400000000000000000000 40"), out::add);
        assertThat(out).containsExactly(new Capsule.AddressRequest(List.of(
                new AddressEntry(1, ip("0.0.0.0"), 32),
                new AddressEntry(2, ip("fd00:706f:7374::"), 64))));
    }

    @Test
    void decode_fullTunnelRouteAdvertisement_givesOneRange() throws Exception {
        decoder.decode(hex("03 0a 04 00000000 ffffffff 00"), out::add);
        assertThat(out).containsExactly(new Capsule.RouteAdvertisement(
                List.of(new IpAddressRange(ip("0.0.0.0"), ip("255.255.255.255"), 0))));
    }

    @Test
    void decode_datagram_isASliceOfTheInput_andReleasesIt() {
        ByteBuf in = hex("00 04 00 aabbcc");
        decoder.decode(in, out::add);
        Capsule.Datagram datagram = (Capsule.Datagram) out.getFirst();
        assertThat(HttpDatagrams.readContextId(datagram.payload())).isEqualTo(HttpDatagrams.IP_PACKET_CONTEXT_ID);
        assertThat(ByteBufUtil.hexDump(datagram.payload())).isEqualTo("aabbcc");
        assertThat(in.refCnt()).as("input kept alive by the payload slice only").isEqualTo(1);
        assertThat(datagram.release()).isTrue();
        assertThat(in.refCnt()).isZero();
        assertThat(decoder.bufferedBytes()).isZero();
    }

    @Test
    void decode_unknownTypeIsSkipped_andTheNextCapsuleStillArrives() {
        // 0x2a is unassigned; a 2-byte varint type 0x4100 also is
        decoder.decode(hex("2a 02 ffff 4100 01 ee 00 01 00"), out::add);
        assertThat(out).hasSize(3);
        assertThat(out.get(0)).isEqualTo(new Capsule.Unknown(0x2a, new byte[] {-1, -1}));
        assertThat(out.get(1)).isEqualTo(new Capsule.Unknown(0x100, new byte[] {(byte) 0xee}));
        assertThat(out.get(2)).isInstanceOf(Capsule.Datagram.class);
        ((Capsule.Datagram) out.get(2)).release();
    }

    @Test
    void decode_oneByteAtATime_givesTheSameCapsules_andHoldsNothingAfter() throws Exception {
        byte[] stream = HexFormat.of().parseHex("01070104c0000220" + "20" + "0006004500001400" + "030a0400000000ffffffff00");
        List<ByteBuf> inputs = new ArrayList<>();
        for (byte b : stream) {
            ByteBuf piece = Unpooled.buffer(1).writeByte(b);
            inputs.add(piece);
            decoder.decode(piece, out::add);
        }
        assertThat(out).hasSize(3);
        assertThat(out.get(0)).isEqualTo(
                new Capsule.AddressAssign(List.of(new AddressEntry(1, ip("192.0.2.32"), 32))));
        Capsule.Datagram datagram = (Capsule.Datagram) out.get(1);
        assertThat(ByteBufUtil.hexDump(datagram.payload())).isEqualTo("004500001400");
        datagram.release();
        assertThat(out.get(2)).isInstanceOf(Capsule.RouteAdvertisement.class);
        assertThat(decoder.bufferedBytes()).isZero();
        assertThat(inputs).allSatisfy(piece -> assertThat(piece.refCnt()).isZero());
    }

    @Test
    void decode_splitInsideHeaderAndValue_keepsTheRest() {
        decoder.decode(hex("00"), out::add);
        decoder.decode(hex("05 00 11"), out::add);
        assertThat(out).isEmpty();
        assertThat(decoder.bufferedBytes()).isEqualTo(4);
        decoder.decode(hex("2233 44 00 01"), out::add);
        assertThat(out).hasSize(1);
        assertThat(ByteBufUtil.hexDump(((Capsule.Datagram) out.getFirst()).payload())).isEqualTo("0011223344");
        assertThat(decoder.bufferedBytes()).isEqualTo(2);
        ((Capsule.Datagram) out.getFirst()).release();
        decoder.close();
        assertThat(decoder.bufferedBytes()).isZero();
    }

    @Test
    void decode_lengthBeyondMax_isRefusedBeforeTheBytesArrive() {
        ByteBuf in = hex("00 45dd");
        assertThatThrownBy(() -> decoder.decode(in, out::add))
                .isInstanceOf(CapsuleException.class)
                .hasMessage("capsule type 0x0: expected a length of at most 1500 bytes, found 1501");
        assertThat(in.refCnt()).isZero();
        ByteBuf next = hex("00");
        assertThatThrownBy(() -> decoder.decode(next, out::add)).isInstanceOf(IllegalStateException.class);
        assertThat(next.refCnt()).isZero();
    }

    @Test
    void decode_truncatedAddress_namesTheField() {
        assertThatThrownBy(() -> decoder.decode(hex("01 04 01 04 c000"), out::add))
                .isInstanceOf(CapsuleException.class)
                .hasMessage("ADDRESS_ASSIGN IP address: expected 4 byte(s), found 2 before the capsule ends");
    }

    @Test
    void decode_truncatedPrefixLength_namesTheField() {
        assertThatThrownBy(() -> decoder.decode(hex("01 06 01 04 c0000201"), out::add))
                .hasMessage("ADDRESS_ASSIGN IP prefix length: expected 1 byte(s), found 0 before the capsule ends");
    }

    @Test
    void decode_ipVersion5_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("01 07 01 05 c000020b 20"), out::add))
                .hasMessage("ADDRESS_ASSIGN IP version: expected 4 or 6, found 5");
    }

    @Test
    void decode_prefixLongerThanTheAddress_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("01 07 01 04 c000020b 21"), out::add))
                .hasMessage("prefix length: expected 0 to 32 for IPv4, found 33");
        CapsuleDecoder v6 = new CapsuleDecoder(UnpooledByteBufAllocator.DEFAULT, 100);
        assertThatThrownBy(() -> v6.decode(hex("01 13 01 06 fd000000000000000000000000000001 81"), out::add))
                .hasMessage("prefix length: expected 0 to 128 for IPv6, found 129");
    }

    @Test
    void decode_hostBitsSetInAssignedPrefix_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("01 07 00 04 c0000201 18"), out::add))
                .hasMessage("prefix 192.0.2.1/24: expected the host bits after the prefix to be zero, found bit 31 set");
    }

    @Test
    void decode_requestIdZeroInARequest_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("02 07 00 04 00000000 20"), out::add))
                .hasMessage("ADDRESS_REQUEST: expected a non-zero request id, found 0 for 0.0.0.0/32");
    }

    @Test
    void decode_emptyRequest_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("02 00"), out::add))
                .hasMessage("ADDRESS_REQUEST: expected at least one requested address, found none");
    }

    @Test
    void decode_emptyAssign_withdrawsAll() {
        decoder.decode(hex("01 00"), out::add);
        assertThat(out).containsExactly(new Capsule.AddressAssign(List.of()));
    }

    @Test
    void decode_routesOutOfOrder_isMalformed() {
        // 10.0.0.0-10.0.0.255 after 10.0.1.0-10.0.1.255, both all protocols
        assertThatThrownBy(() -> decoder.decode(hex("03 14 04 0a000100 0a0001ff 00 04 0a000000 0a0000ff 00"), out::add))
                .hasMessage("ROUTE_ADVERTISEMENT: expected ranges of one version and protocol ordered by address and "
                        + "not overlapping, found range 0 (10.0.1.0-10.0.1.255) before range 1 (10.0.0.0-10.0.0.255)");
    }

    @Test
    void decode_overlappingRoutes_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("03 14 04 0a000000 0a0001ff 00 04 0a000100 0a0002ff 00"), out::add))
                .hasMessageContaining("not overlapping, found range 0 (10.0.0.0-10.0.1.255) before range 1");
    }

    @Test
    void decode_ipv6BeforeIpv4_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("03 2c 06 " + "fd".repeat(16) + "fe".repeat(16) + " 00"
                + " 04 0a000000 0a0000ff 00"), out::add))
                .hasMessageContaining("expected IPv4 ranges before IPv6 ranges");
    }

    @Test
    void decode_protocolsOutOfOrder_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("03 14 04 0a000000 0a0000ff 11 04 0b000000 0b0000ff 06"), out::add))
                .hasMessageContaining("expected ranges of one IP version ordered by IP protocol");
    }

    @Test
    void decode_startAfterEnd_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("03 0a 04 0a000001 0a000000 00"), out::add))
                .hasMessage("IP address range: expected start <= end, found 10.0.0.1 > 10.0.0.0");
    }

    @Test
    void decode_tcpRangeInsideAllProtocolsRange_isMalformed() {
        assertThatThrownBy(() -> decoder.decode(hex("03 14 04 0a000000 0a0000ff 00 04 0a000010 0a000020 06"), out::add))
                .hasMessage("ROUTE_ADVERTISEMENT: expected a range for protocol 6 not to overlap a range for all "
                        + "protocols, found 10.0.0.16-10.0.0.32 proto 6 inside 10.0.0.0-10.0.0.255");
    }

    @Test
    void decode_tcpRangeBesideAllProtocolsRange_isFine() {
        decoder.decode(hex("03 14 04 0a000000 0a0000ff 00 04 0a000100 0a000120 06"), out::add);
        assertThat(((Capsule.RouteAdvertisement) out.getFirst()).ranges()).hasSize(2);
    }

    @Test
    void decode_failureReleasesHeldBytes() {
        ByteBuf first = hex("00 05 00");
        decoder.decode(first, out::add);
        ByteBuf second = hex("1122 3344 01 01 ff");
        assertThat(decoder.bufferedBytes()).isEqualTo(3);
        assertThatThrownBy(() -> decoder.decode(second, out::add)).isInstanceOf(CapsuleException.class);
        ((Capsule.Datagram) out.getFirst()).release();
        assertThat(first.refCnt()).isZero();
        assertThat(second.refCnt()).isZero();
        assertThat(decoder.bufferedBytes()).isZero();
    }

    @Test
    void mixedFamiliesInOneRange_isRefused() {
        assertThatThrownBy(() -> new IpAddressRange(ip("10.0.0.0"), ip("fd00::1"), 0))
                .hasMessage("IP address range: expected start and end of one IP version, found 10.0.0.0 and fd00:0:0:0:0:0:0:1");
    }
}
