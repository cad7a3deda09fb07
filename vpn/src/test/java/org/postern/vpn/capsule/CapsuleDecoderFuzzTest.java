package org.postern.vpn.capsule;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link CapsuleDecoder} on whatever a peer sends on a CONNECT-IP stream. The only refusal is
 * {@link CapsuleException}; the input fed whole and fed one byte at a time gives the same capsules
 * (or the same refusal); every capsule accepted encodes back to the bytes it came from; every input
 * buffer is released once the datagram payloads are. Corpus: {@code CapsuleDecoderFuzzTestInputs/decode};
 * long runs: docs/fuzzing.md.
 */
class CapsuleDecoderFuzzTest {
    private static final int MAX = 2048;

    @FuzzTest
    void decode(byte[] input) {
        List<ByteBuf> inputs = new ArrayList<>();
        List<String> whole = run(input, input.length, inputs);
        List<String> bytewise = run(input, 1, inputs);
        assertThat(bytewise).isEqualTo(whole);
        assertThat(inputs).allSatisfy(buf -> assertThat(buf.refCnt()).isZero());
    }

    /** Decodes in pieces of {@code piece} bytes; returns each capsule's re-encoding, then the refusal if any. */
    private static List<String> run(byte[] input, int piece, List<ByteBuf> inputs) {
        CapsuleDecoder decoder = new CapsuleDecoder(UnpooledByteBufAllocator.DEFAULT, MAX);
        List<String> seen = new ArrayList<>();
        try {
            for (int at = 0; at < input.length; at += Math.max(piece, 1)) {
                ByteBuf buf = Unpooled.copiedBuffer(input, at, Math.min(piece, input.length - at));
                inputs.add(buf);
                decoder.decode(buf, capsule -> seen.add(reencode(capsule)));
            }
        } catch (CapsuleException refused) {
            assertThat(refused.getMessage()).contains("expected");
            seen.add("refused: " + refused.getMessage());
        } finally {
            decoder.close();
        }
        return seen;
    }

    private static String reencode(Capsule capsule) {
        ByteBuf encoded = CapsuleEncoder.encode(capsule, UnpooledByteBufAllocator.DEFAULT);
        try {
            return ByteBufUtil.hexDump(encoded);
        } finally {
            encoded.release();
        }
    }
}
