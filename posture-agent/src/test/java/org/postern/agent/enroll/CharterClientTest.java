package org.postern.agent.enroll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Instant;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** What the agent makes of the gateway's {@code GET /v1/charter} answer, before it shows anything. */
class CharterClientTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static ObjectNode answer(int version, String text) {
        ObjectNode n = JSON.createObjectNode();
        n.put("version", version);
        n.put("text", text);
        n.put("sha256", CharterClient.sha256(text));
        n.putNull("accepted");
        return n;
    }

    @Test
    void aPlainText_isTaken() throws IOException {
        CharterClient.Charter c = CharterClient.charter("GET x", answer(1, "I keep my laptop locked.\r\n\tÉté ✓\n"));
        assertThat(c.version()).isEqualTo(1);
        assertThat(c.accepted()).isNull();
    }

    /** A gateway (or something in its place) sending terminal escapes or hidden characters: refused, named, not shown. */
    @Test
    void controlOrBidiCharacters_areRefused_evenWithAMatchingHash() {
        assertThatThrownBy(() -> CharterClient.charter("GET https://gw/v1/charter", answer(1, "I accept\n\u001b]0;pwned\u0007")))
                .isInstanceOf(IOException.class)
                .hasMessage("GET https://gw/v1/charter: the gateway sent a charter text this agent will not show or accept:"
                        + " expected printable text (no control, invisible or bidirectional formatting characters), found U+001B"
                        + " at line 2, column 1");
        assertThatThrownBy(() -> CharterClient.charter("GET x", answer(1, "ok \u202Etxet")))
                .hasMessageEndingWith("found U+202E at line 1, column 4");
        assertThatThrownBy(() -> CharterClient.charter("GET x", answer(1, "ok \u009b2J")))
                .hasMessageEndingWith("found U+009B at line 1, column 4");
    }

    @Test
    void aTextNotMatchingItsHash_isRefused() {
        ObjectNode n = answer(1, "the words");
        n.put("text", "other words");
        assertThatThrownBy(() -> CharterClient.charter("GET x", n)).hasMessageStartingWith("GET x: expected a charter whose text has the SHA-256");
    }

    /** The gateway's rule: the same version with another text is not accepted. */
    @Test
    void acceptedNow_needsALaterVersion_orThisVersionWithThisText() throws IOException {
        String now = CharterClient.sha256("new words");
        String before = CharterClient.sha256("old words");
        Instant at = Instant.parse("2026-12-07T09:00:00Z");
        assertThat(new CharterClient.Charter(2, "new words", now, new CharterClient.Acceptance(2, now, at)).acceptedNow()).isTrue();
        assertThat(new CharterClient.Charter(2, "new words", now, new CharterClient.Acceptance(3, before, at)).acceptedNow()).isTrue();
        assertThat(new CharterClient.Charter(2, "new words", now, new CharterClient.Acceptance(2, before, at)).acceptedNow()).isFalse();
        assertThat(new CharterClient.Charter(2, "new words", now, new CharterClient.Acceptance(1, now, at)).acceptedNow()).isFalse();
        assertThat(new CharterClient.Charter(2, "new words", now, null).acceptedNow()).isFalse();
    }
}
