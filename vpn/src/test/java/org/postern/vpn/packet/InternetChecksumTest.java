package org.postern.vpn.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.vpn.packet.TestPackets.buf;
import static org.postern.vpn.packet.TestPackets.hex;

import io.netty.buffer.ByteBuf;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InternetChecksumTest {

    @Test
    void compute_rfc1071Example_is220d() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement
        assertThat(InternetChecksum.compute(buf(hex("0001f203f4f5f6f7")), 0, 8)).isEqualTo(0x220d);
    }

    @Test
    void verify_wikipediaIpv4Header_holds() {
        // the classic worked example: 192.168.0.1 -> 192.168.0.199, checksum b861
        assertThat(InternetChecksum.verify(buf(hex("45000073000040004011b861c0a80001c0a800c7")), 0, 20)).isTrue();
        assertThat(InternetChecksum.verify(buf(hex("45000073000040004011b862c0a80001c0a800c7")), 0, 20)).isFalse();
    }

    @Test
    void compute_agreesWithTheNaiveSum_forRandomOddAndEvenLengths() {
        Random random = new Random(42);
        for (int length = 0; length < 70; length++) {
            byte[] bytes = new byte[length + 3];
            random.nextBytes(bytes);
            assertThat(InternetChecksum.compute(buf(bytes), 3, length))
                    .as("length %d", length).isEqualTo(TestPackets.naiveChecksum(bytes, 3, length, 0));
        }
    }

    @Test
    void update32_afterRewritingTheSourceAddress_equalsARecomputation() {
        ByteBuf header = buf(hex("45000073000040004011b861c0a80001c0a800c7"));
        int oldSource = header.getInt(12);
        int newSource = 0x6440_0002; // 100.64.0.2
        int updated = InternetChecksum.update32(header.getUnsignedShort(10), oldSource, newSource);
        header.setInt(12, newSource);
        header.setShort(10, 0);
        assertThat(updated).isEqualTo(InternetChecksum.compute(header, 0, 20));
    }

    @Test
    void update16_rfc1624Example_givesTheRfcResult() {
        // RFC 1624 §4: HC 0xDD2F, m 0x5555 -> m' 0x3285 gives HC' 0x0000 by eqn. 3
        assertThat(InternetChecksum.update16(0xdd2f, 0x5555, 0x3285)).isEqualTo(0x0000);
    }
}
