package org.postern.agent.socks;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;
import org.postern.agent.tunnel.TunnelEvents;
import org.postern.agent.tunnel.TunnelRefusedException;
import org.postern.agent.tunnel.Tunnels;

/**
 * The agent's SOCKS5 server ({@link Socks5ServerHandler} behind Netty's SOCKS codec) on arbitrary
 * bytes from a local client, in an {@link EmbeddedChannel} whose tunnels the gateway refuses. Each
 * input is sent twice: in one write, and one byte per write (TCP may split anywhere). Nothing
 * escapes the pipeline; both runs answer the same bytes and ask for the same tunnel; a tunnel is
 * asked for at most once, only after a greeting offering no-auth and a CONNECT request; every
 * answer is a SOCKS5 answer. Corpus: {@code Socks5ServerHandlerFuzzTestInputs/exchange}.
 */
class Socks5ServerHandlerFuzzTest {

    private static final int MAX_BYTEWISE = 512;

    /** What one run saw: the answer bytes and the tunnels asked for. */
    private record Run(String answered, List<String> asked, boolean open) {
    }

    @FuzzTest
    void exchange(byte[] input) {
        Run whole = run(List.of(input));
        List<byte[]> bytes = new ArrayList<>();
        for (int i = 0; i < Math.min(input.length, MAX_BYTEWISE); i++) {
            bytes.add(new byte[] {input[i]});
        }
        if (input.length <= MAX_BYTEWISE) {
            Run bytewise = run(bytes);
            assertThat(bytewise).as("one write and one byte per write differ").isEqualTo(whole);
        }
        assertThat(whole.asked()).hasSizeLessThanOrEqualTo(1);
        if (!whole.asked().isEmpty()) {
            assertThat(input.length).isGreaterThanOrEqualTo(3 + 7);
            assertThat(input[0]).as("SOCKS version of the greeting").isEqualTo((byte) 5);
        }
        if (!whole.answered().isEmpty()) {
            assertThat(whole.answered()).startsWith("05");
        }
    }

    private static Run run(List<byte[]> writes) {
        List<String> asked = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel();
        Tunnels refusing = (host, port) -> {
            asked.add(host + " " + port);
            Future<Http2StreamChannel> refused = ch.eventLoop().newFailedFuture(
                    new TunnelRefusedException(TunnelRefusedException.Kind.NOT_ALLOWED, 403, "access.no_rule", "refused (fuzz)"));
            return refused;
        };
        Socks5ServerHandler.install(ch.pipeline(), refusing, TunnelEvents.SILENT);
        for (byte[] w : writes) {
            if (!ch.isOpen()) {
                break;
            }
            ch.writeInbound(Unpooled.wrappedBuffer(w));
            ch.runPendingTasks();
        }
        ch.checkException();
        StringBuilder answered = new StringBuilder();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            answered.append(ByteBufUtil.hexDump(b));
            b.release();
        }
        boolean open = ch.isOpen();
        ch.finishAndReleaseAll();
        return new Run(answered.toString(), asked, open);
    }
}
