package org.postern.audit.text;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import org.jspecify.annotations.Nullable;

/**
 * Text from a peer, made safe to print for a person: every character a terminal would act on, or
 * that can hide or reorder what is shown, becomes a visible escape, so a recorded
 * {@code CONNECT <ESC>]0;pwned<BEL>…} shows as {@code \x1b]0;pwned\x07…} instead of retitling the
 * auditor's terminal. One neutraliser for every human-readable output of the {@code postern}
 * commands (docs/audit.md, "Peer text on a terminal"); JSON outputs need none (JSON escapes them).
 *
 * <ul>
 *   <li>{@code \} → {@code \\}, so an escape shown is never text the peer typed;</li>
 *   <li>C0 controls and DEL → {@code \t}, {@code \n}, {@code \r}, or {@code \xNN};</li>
 *   <li>C1 controls (U+0080–U+009F), Unicode format characters (bidi embeddings, overrides and
 *       isolates U+202A–U+202E and U+2066–U+2069, marks U+200E/U+200F/U+061C, zero-width
 *       characters, U+FEFF, tags), line and paragraph separators and unpaired surrogates →
 *       <code>&#92;uXXXX</code> (or <code>&#92;u{XXXXX}</code> beyond U+FFFF);</li>
 *   <li>bytes that were not valid UTF-8 ({@link #decodeUtf8} keeps them as U+DC80–U+DCFF) →
 *       {@code \xNN}, the byte itself.</li>
 * </ul>
 * Everything else, non-ASCII letters included, is printed as it is.
 */
public final class TerminalText {
    private static final HexFormat HEX = HexFormat.of();
    /** An undecodable byte b is kept as the lone low surrogate U+DC00 + b (b ≥ 0x80), as Python's surrogateescape does. */
    private static final int RAW_BYTE_BASE = 0xDC00;

    private TerminalText() {
    }

    /** {@code text} with every control, format and bidi character shown as an escape; null stays null. */
    public static @Nullable String escape(@Nullable String text) {
        if (text == null || isPlain(text)) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            appendEscaped(b, c);
        }
        return b.toString();
    }

    /**
     * As {@link #escape}, but {@code \}, CR and LF stay as they are: for a format that escapes
     * those its own way (CEF writes {@code \\}, {@code \r}, {@code \n}).
     */
    public static String escapeKeepingLineBreaks(String text) {
        if (isPlain(text)) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (c == '\\' || c == '\n' || c == '\r') {
                b.appendCodePoint(c);
            } else {
                appendEscaped(b, c);
            }
        }
        return b.toString();
    }

    /**
     * JSON text with every character {@link #escape} would show written as a JSON <code>&#92;uXXXX</code>
     * escape instead: the same JSON value, safe to print. (JSON already escapes C0 controls; DEL,
     * C1, format and bidi characters it may leave raw.)
     */
    public static String escapeInJson(String json) {
        StringBuilder b = new StringBuilder(json.length() + 16);
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (c >= 0x20 && c != 0x7f && (c < 0x80 || !hiddenChar(json, i))) {
                b.append(c);
            } else {
                b.append("\\u").append(HEX.toHexDigits((short) c));
            }
        }
        return b.toString();
    }

    /** Whether the char at {@code i} is part of a code point {@link #escape} would escape. */
    private static boolean hiddenChar(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
            return hidden(Character.toCodePoint(c, s.charAt(i + 1)));
        }
        if (Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1))) {
            return hidden(Character.toCodePoint(s.charAt(i - 1), c));
        }
        return hidden(c);
    }

    private static boolean isPlain(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '\\') {
                return false;
            }
        }
        return true;
    }

    private static void appendEscaped(StringBuilder b, int c) {
        switch (c) {
            case '\\' -> b.append("\\\\");
            case '\t' -> b.append("\\t");
            case '\n' -> b.append("\\n");
            case '\r' -> b.append("\\r");
            default -> {
                if (c < 0x20 || c == 0x7f) {
                    b.append("\\x").append(HEX.toHexDigits((byte) c));
                } else if (c >= RAW_BYTE_BASE + 0x80 && c <= RAW_BYTE_BASE + 0xff) {
                    b.append("\\x").append(HEX.toHexDigits((byte) (c - RAW_BYTE_BASE)));
                } else if (hidden(c)) {
                    b.append(c > 0xffff ? "\\u{" + Integer.toHexString(c) + "}" : "\\u" + HEX.toHexDigits((short) c));
                } else {
                    b.appendCodePoint(c);
                }
            }
        }
    }

    /** Characters that act on a terminal or hide, reorder or break what is shown around them. */
    private static boolean hidden(int c) {
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED -> true;
            default -> false;
        };
    }

    /**
     * Decodes {@code bytes} as UTF-8, keeping each byte of an invalid sequence as U+DC00 + byte so
     * that {@link #escape} shows it as {@code \xNN} (not as U+FFFD, and not as Latin-1 mojibake).
     *
     * @return the text, and whether every byte was valid UTF-8
     */
    public static Decoded decodeUtf8(byte[] bytes, int offset, int length) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        CharBuffer out = CharBuffer.allocate(length + 1);
        boolean valid = true;
        while (true) {
            CoderResult r = in.hasRemaining() ? d.decode(in, out, true) : CoderResult.UNDERFLOW;
            if (r.isError()) {
                valid = false;
                for (int k = 0; k < r.length(); k++) {
                    out.put((char) (RAW_BYTE_BASE + (in.get() & 0xff)));
                }
                continue;
            }
            if (r.isUnderflow()) {
                d.flush(out);
                break;
            }
        }
        out.flip();
        return new Decoded(out.toString(), valid);
    }

    /** Text decoded by {@link #decodeUtf8}; {@code valid} is false when some bytes were kept as escapes. */
    public record Decoded(String text, boolean valid) {
    }
}
