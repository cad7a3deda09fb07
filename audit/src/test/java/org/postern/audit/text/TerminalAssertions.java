package org.postern.audit.text;

import static org.assertj.core.api.Assertions.assertThat;

/** (As cli's TerminalAssertions, which the cli tests use.) What a person's terminal may be shown: text without anything a terminal acts on or that hides text. */
public final class TerminalAssertions {
    private TerminalAssertions() {
    }

    /** No C0 (but line ends), DEL, C1, format, separator or unpaired surrogate left in {@code s}. */
    public static void assertSafe(String s) {
        s.replace("\r\n", "\n").codePoints().forEach(c -> {
            int type = Character.getType(c);
            boolean hidden = c != '\n' && (c < 0x20 || c == 0x7f || type == Character.CONTROL || type == Character.FORMAT
                    || type == Character.SURROGATE || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR);
            assertThat(hidden).as("U+%04X left raw in: %s", c, s).isFalse();
        });
    }
}
