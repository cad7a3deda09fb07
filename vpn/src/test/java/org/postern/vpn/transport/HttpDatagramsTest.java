package org.postern.vpn.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The quarter stream id prefix: QUIC variable-length integers (RFC 9000 §16 and its examples, A.1). */
class HttpDatagramsTest {

    @Test
    void varint_rfc9000Examples_encodeAndDecode() {
        assertEncodes(151_288_809_941_952_652L, "c2197c5eff14e88c");
        assertEncodes(494_878_333L, "9d7f3e7d");
        assertEncodes(15_293L, "7bbd");
        assertEncodes(37L, "25");
    }

    @Test
    void varint_lengthBoundaries() {
        assertThat(HttpDatagrams.varintLength(63)).isEqualTo(1);
        assertThat(HttpDatagrams.varintLength(64)).isEqualTo(2);
        assertThat(HttpDatagrams.varintLength(16_383)).isEqualTo(2);
        assertThat(HttpDatagrams.varintLength(16_384)).isEqualTo(4);
        assertThat(HttpDatagrams.varintLength(1_073_741_823)).isEqualTo(4);
        assertThat(HttpDatagrams.varintLength(1_073_741_824)).isEqualTo(8);
        assertThatThrownBy(() -> HttpDatagrams.varintLength(1L << 62))
                .hasMessage("expected a QUIC varint value 0..4611686018427387903, found 4611686018427387904");
    }

    @Test
    void readVarint_cutShort_readsNothing() {
        ByteBuf in = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump("9d7f3e"));
        assertThat(HttpDatagrams.readVarint(in)).isEqualTo(-1);
        assertThat(in.readerIndex()).isZero();
        assertThat(HttpDatagrams.readVarint(Unpooled.EMPTY_BUFFER)).isEqualTo(-1);
    }

    @Test
    void quarterStreamId_clientBidirectionalStreamsOnly() {
        assertThat(HttpDatagrams.quarterStreamId(0)).isZero();
        assertThat(HttpDatagrams.quarterStreamId(148)).isEqualTo(37);
        assertThatThrownBy(() -> HttpDatagrams.quarterStreamId(3))
                .hasMessage("expected the id of a client-initiated bidirectional stream (a multiple of 4), found 3");
    }

    private static void assertEncodes(long value, String hex) {
        ByteBuf out = Unpooled.buffer();
        HttpDatagrams.writeVarint(out, value);
        assertThat(ByteBufUtil.hexDump(out)).isEqualTo(hex);
        assertThat(HttpDatagrams.readVarint(out)).isEqualTo(value);
        assertThat(out.isReadable()).isFalse();
    }
}
