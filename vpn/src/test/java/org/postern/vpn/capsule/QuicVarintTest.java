package org.postern.vpn.capsule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class QuicVarintTest {

    private static ByteBuf hex(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));
    }

    @Test
    void read_rfc9000SampleVarints_giveTheirValues() {
        // RFC 9000 Appendix A.1 sample encodings
        assertThat(QuicVarint.read(hex("c2197c5eff14e88c"), "x")).isEqualTo(151_288_809_941_952_652L);
        assertThat(QuicVarint.read(hex("9d7f3e7d"), "x")).isEqualTo(494_878_333L);
        assertThat(QuicVarint.read(hex("7bbd"), "x")).isEqualTo(15_293);
        assertThat(QuicVarint.read(hex("25"), "x")).isEqualTo(37);
        assertThat(QuicVarint.read(hex("4025"), "x")).isEqualTo(37);
    }

    @Test
    void write_usesShortestEncoding_atEachBoundary() {
        long[] values = {0, 63, 64, 16_383, 16_384, (1L << 30) - 1, 1L << 30, QuicVarint.MAX_VALUE};
        int[] lengths = {1, 1, 2, 2, 4, 4, 8, 8};
        for (int i = 0; i < values.length; i++) {
            ByteBuf out = Unpooled.buffer();
            QuicVarint.write(out, values[i]);
            assertThat(out.readableBytes()).as("length of %d", values[i]).isEqualTo(lengths[i]);
            assertThat(QuicVarint.encodedLength(values[i])).isEqualTo(lengths[i]);
            assertThat(QuicVarint.read(out, "x")).isEqualTo(values[i]);
            assertThat(out.isReadable()).isFalse();
        }
    }

    @Test
    void write_15293_isTheRfcBytes() {
        ByteBuf out = Unpooled.buffer();
        QuicVarint.write(out, 15_293);
        assertThat(HexFormat.of().formatHex(out.array(), 0, out.writerIndex())).isEqualTo("7bbd");
    }

    @Test
    void write_outOfRange_isRefusedWithTheValue() {
        assertThatThrownBy(() -> QuicVarint.write(Unpooled.buffer(), 1L << 62))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("varint: expected a value from 0 to 2^62-1, found 4611686018427387904");
        assertThatThrownBy(() -> QuicVarint.encodedLength(-1))
                .hasMessageContaining("found 18446744073709551615");
    }

    @Test
    void read_truncated_saysHowManyBytesWereExpected() {
        ByteBuf in = hex("9d7f3e");
        assertThatThrownBy(() -> QuicVarint.read(in, "capsule length"))
                .isInstanceOf(CapsuleException.class)
                .hasMessage("capsule length: expected a 4-byte varint, found 3 byte(s)");
        assertThat(in.readerIndex()).isZero();
        assertThatThrownBy(() -> QuicVarint.read(Unpooled.EMPTY_BUFFER, "context id"))
                .hasMessage("context id: expected a 1-byte varint, found 0 byte(s)");
    }

    @Test
    void peek_incomplete_isMinusOne_andMovesNothing() {
        ByteBuf in = hex("c2197c");
        assertThat(QuicVarint.peek(in, 0)).isEqualTo(-1);
        assertThat(QuicVarint.peek(in, 3)).isEqualTo(-1);
        assertThat(in.readerIndex()).isZero();
    }
}
