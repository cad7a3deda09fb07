package org.postern.vpn.packet;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.net.InetAddress;

/**
 * {@link IpPacket#parse} on whatever a device sends into the tunnel, and {@link IcmpAnswers} on what
 * it accepts. Parsing never throws and never moves the reader index; an accepted packet has version
 * 4 or 6 and a header and length within the bytes; an ICMP answer, when one is allowed, parses as an
 * ICMP error to the packet's source whose checksum verifies. Corpus: {@code IpPacketFuzzTestInputs/parse};
 * long runs: docs/fuzzing.md.
 */
class IpPacketFuzzTest {
    private static final InetAddress GATEWAY4 = address(new byte[] {100, 64, 0, 1});
    private static final InetAddress GATEWAY6 = address(new byte[] {(byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

    @FuzzTest
    void parse(byte[] input) {
        ByteBuf buf = Unpooled.wrappedBuffer(input);
        IpPacket packet = new IpPacket();
        boolean ok = packet.parse(buf);
        assertThat(buf.readerIndex()).isZero();
        if (!ok) {
            assertThat(packet.malformed()).isNotNull();
            return;
        }
        assertThat(packet.ipVersion()).isIn(4, 6);
        assertThat(packet.length()).isBetween(packet.headerLength(), input.length);
        ByteBuf answer = IcmpAnswers.administrativelyProhibited(buf, packet,
                packet.ipVersion() == 4 ? GATEWAY4 : GATEWAY6, UnpooledByteBufAllocator.DEFAULT);
        if (answer == null) {
            return;
        }
        try {
            IpPacket parsed = new IpPacket();
            assertThat(parsed.parse(answer)).isTrue();
            assertThat(parsed.isIcmpError()).isTrue();
            assertThat(parsed.destinationLow()).isEqualTo(packet.sourceLow());
            assertThat(parsed.destinationHigh()).isEqualTo(packet.sourceHigh());
            if (parsed.ipVersion() == 4) {
                assertThat(InternetChecksum.verify(answer, parsed.headerLength(), parsed.length() - parsed.headerLength()))
                        .isTrue();
            }
        } finally {
            answer.release();
        }
    }

    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
