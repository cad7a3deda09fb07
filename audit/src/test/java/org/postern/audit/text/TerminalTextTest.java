package org.postern.audit.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every character a terminal acts on, or that hides or reorders text, is shown as an escape (issue 11, item 9). */
class TerminalTextTest {

    static Stream<Arguments> hostile() {
        return Stream.of(
                Arguments.of("ESC clear screen", "\u001b[2J", "\\x1b[2J"),
                Arguments.of("OSC title with BEL", "\u001b]0;pwned\u0007", "\\x1b]0;pwned\\x07"),
                Arguments.of("OSC 52 clipboard with ST", "\u001b]52;c;ZWNobw==\u001b\\", "\\x1b]52;c;ZWNobw==\\x1b\\\\"),
                Arguments.of("NUL", "a\u0000b", "a\\x00b"),
                Arguments.of("backspace over text", "admin\b\b\b\b\broot", "admin\\x08\\x08\\x08\\x08\\x08root"),
                Arguments.of("CR overwrites the line", "denied\rallowed", "denied\\rallowed"),
                Arguments.of("LF forges a second line", "x\n2026-01-01 session.start", "x\\n2026-01-01 session.start"),
                Arguments.of("tab", "a\tb", "a\\tb"),
                Arguments.of("vertical tab and form feed", "\u000b\u000c", "\\x0b\\x0c"),
                Arguments.of("DEL", "a\u007fb", "a\\x7fb"),
                Arguments.of("C1 CSI (8-bit ESC [)", "\u009b31m", "\\u009b31m"),
                Arguments.of("C1 NEL", "a\u0085b", "a\\u0085b"),
                Arguments.of("C1 OSC and ST", "\u009d0;t\u009c", "\\u009d0;t\\u009c"),
                Arguments.of("right-to-left override", "evil\u202egnp.exe", "evil\\u202egnp.exe"),
                Arguments.of("left-to-right/right-to-left embeddings and pop", "\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
                Arguments.of("bidi isolates", "\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
                Arguments.of("bidi marks", "\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),
                Arguments.of("zero-width space and joiner", "ad\u200bmin\u200d", "ad\\u200bmin\\u200d"),
                Arguments.of("byte-order mark", "\ufeffx", "\\ufeffx"),
                Arguments.of("soft hyphen", "ro\u00adot", "ro\\u00adot"),
                Arguments.of("line and paragraph separators", "a\u2028b\u2029c", "a\\u2028b\\u2029c"),
                Arguments.of("tag characters beyond U+FFFF", "x\udb40\udc01", "x\\u{e0001}"),
                Arguments.of("unpaired high surrogate", "x\ud800y", "x\\ud800y"),
                Arguments.of("private use", "\ue000", "\\ue000"),
                Arguments.of("a backslash the peer typed", "\\x1b", "\\\\x1b"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void escape_hostileText_isShownAsEscapes(String name, String in, String shown) {
        assertThat(TerminalText.escape(in)).isEqualTo(shown);
        TerminalAssertions.assertSafe(TerminalText.escape(in));
    }

    @Test
    void escape_lettersOfAnyScript_stayAsTheyAre() {
        String text = "Zoë Ünal 山田 Ψ café.example:443 😀";
        assertThat(TerminalText.escape(text)).isEqualTo(text);
        assertThat(TerminalText.escape(null)).isNull();
    }

    @Test
    void decodeUtf8_invalidBytes_areShownAsTheBytes_notMojibake() {
        byte[] bytes = {'a', (byte) 0xc3, '(', 'b', (byte) 0xff, (byte) 0xe2, (byte) 0x80, 'c', (byte) 0xc3, (byte) 0xa9};
        TerminalText.Decoded d = TerminalText.decodeUtf8(bytes, 0, bytes.length);
        assertThat(d.valid()).isFalse();
        assertThat(TerminalText.escape(d.text())).isEqualTo("a\\xc3(b\\xff\\xe2\\x80cé");

        byte[] good = "evil\u202e:443 é".getBytes(StandardCharsets.UTF_8);
        TerminalText.Decoded ok = TerminalText.decodeUtf8(good, 0, good.length);
        assertThat(ok.valid()).isTrue();
        assertThat(TerminalText.escape(ok.text())).isEqualTo("evil\\u202e:443 é");
    }

    @Test
    void escapeInJson_keepsTheJsonValue_andHidesNothingRaw() throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        String value = "a\u007f\u009b\u202e\u2066b😀\udb40\udc01é";
        String text = json.writeValueAsString(java.util.Map.of("k", value));
        String safe = TerminalText.escapeInJson(text);
        TerminalAssertions.assertSafe(safe);
        assertThat(safe).contains("😀").contains("é");
        assertThat(json.readTree(safe).get("k").asText()).isEqualTo(value);
    }

    @Test
    void escapeKeepingLineBreaks_leavesBackslashCrLfToTheFormat() {
        assertThat(TerminalText.escapeKeepingLineBreaks("a\\b\r\n\u001b\u202e")).isEqualTo("a\\b\r\n\\x1b\\u202e");
    }
}
