package org.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Issue 11, item 6: a field a peer filled cannot make a record large. */
class AuditEventTest {

    @Test
    void peerText_over256Chars_isCutAndSaysHowMuchWasLeftOut() {
        String authority = "a".repeat(15_000) + ":443";

        String cut = AuditEvent.peerText(authority);

        assertThat(cut).startsWith("a".repeat(AuditEvent.PEER_TEXT_MAX)).endsWith("…(+14748 chars)");
        assertThat(cut.length()).isLessThan(AuditEvent.PEER_TEXT_MAX + 20);
        assertThat(AuditEvent.peerText("host.example:443")).isEqualTo("host.example:443");
    }

    @Test
    void peerText_neverSplitsASurrogatePair() {
        String text = "x".repeat(AuditEvent.PEER_TEXT_MAX - 1) + "😀".repeat(10);

        String cut = AuditEvent.peerText(text);

        assertThat(cut).isEqualTo("x".repeat(AuditEvent.PEER_TEXT_MAX - 1) + "…(+20 chars)");
    }

    @Test
    void builder_capsEveryTextValue_alsoInLists() {
        AuditEvent e = AuditEvent.of("access.denied", Instant.EPOCH)
                .with("detail", "d".repeat(10_000))
                .with("problems", List.of("p".repeat(5_000), "short"))
                .with("count", 7)
                .build();

        assertThat((String) e.fields().get("detail")).hasSize(AuditEvent.FIELD_MAX + "…(+7952 chars)".length())
                .endsWith("…(+7952 chars)");
        assertThat((List<?>) e.fields().get("problems")).element(0).asString().endsWith("…(+2952 chars)");
        assertThat((List<?>) e.fields().get("problems")).element(1).isEqualTo("short");
        assertThat(e.fields().get("count")).isEqualTo(7);
    }

    /** Issue 11, item 9: an HTTP decoder hands header bytes over one character per byte. */
    @Test
    void peerHeader_readsTheBytesAsUtf8_andShowsInvalidBytes() {
        String sent = "caf\u00e9\u202e.example:443";                     // what the peer meant
        String asDecoded = new String(sent.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                java.nio.charset.StandardCharsets.ISO_8859_1);             // what Netty's decoder gives

        assertThat(AuditEvent.peerHeader(asDecoded)).isEqualTo(sent);
        assertThat(AuditEvent.peerHeader("bad\u00ff\u00c3:443")).isEqualTo("bad\\xff\\xc3:443");
        assertThat(AuditEvent.peerHeader("plain.example:22")).isEqualTo("plain.example:22");
        assertThat(AuditEvent.peerHeader("\u00c3\u00a9".repeat(300))).startsWith("\u00e9".repeat(256)).contains("…(+44 chars)");
    }
}
