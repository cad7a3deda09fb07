package org.postern.config.gateway;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

import org.jspecify.annotations.Nullable;
import org.postern.config.ConfigReader;

/**
 * The remote-work charter each remote worker accepts ({@code charter:} in {@code gateway.yaml}):
 * its text and version. While a charter is configured, the gateway admits a device only when the
 * device (for its current owner) accepted this version with this very text (same SHA-256), or a later
 * version ({@code charter.not_accepted}, see {@link #isAcceptedBy}); raising {@code version} asks
 * everyone to accept again, and so does changing the text under the same version. Absent: no charter
 * is required. The text may hold no control or invisible formatting characters ({@link #textProblem}):
 * it is printed on terminals (the SSH banner, {@code postern-agent charter}).
 *
 * @param version {@code charter.version}: a positive integer, raised by the operator for each new text
 * @param text    the text, from {@code charter.text} or read (UTF-8) from {@code charter.file}
 * @param file    {@code charter.file}: where the text was read, or null when it was given inline
 */
public record Charter(int version, String text, @Nullable Path file) {

    /** The longest charter text, in characters: a charter is a page or a few, not a book. */
    public static final int MAX_TEXT = 64 * 1024;
    static final String EXPECTED_VERSION = "a positive integer like 1 (raised for each new text)";

    public Charter {
        if (version < 1) {
            throw new IllegalArgumentException("charter.version: expected " + EXPECTED_VERSION + ", found " + version);
        }
        Objects.requireNonNull(text, "text");
        String problem = textProblem(text);
        if (problem != null) {
            throw new IllegalArgumentException((file != null ? "charter.file: " + file + ": " : "charter.text: ") + problem);
        }
    }

    /** A charter given inline. */
    public Charter(int version, String text) {
        this(version, text, null);
    }

    /**
     * The hex SHA-256 of the text's UTF-8 bytes: what a device accepts, together with the version,
     * so an acceptance names exactly the words that were shown.
     */
    public String sha256() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is in every JDK", e);
        }
    }

    /**
     * Whether an acceptance of {@code version} with text hash {@code sha256} is current for this
     * charter: a later version, or this version with exactly this text. The same version with
     * another text is not current: the operator may raise the version before the new text is in
     * place, and users who accepted then accepted words that are not the ones in force now.
     */
    public boolean isAcceptedBy(int version, String sha256) {
        return isCurrent(version, sha256, this.version, sha256());
    }

    /** {@link #isAcceptedBy} for a charter known only by its version and hash (the agent's view). */
    public static boolean isCurrent(int acceptedVersion, String acceptedSha256, int requiredVersion, String requiredSha256) {
        return acceptedVersion > requiredVersion
                || (acceptedVersion == requiredVersion && acceptedSha256.equalsIgnoreCase(requiredSha256));
    }

    /** Binds the {@code charter:} section; called only when the section is present. */
    static @Nullable Charter read(ConfigReader r) {
        boolean hasVersion = r.has("version");
        int version = r.value("version", 0, EXPECTED_VERSION, s -> {
            try {
                int v = Integer.parseInt(s.strip());
                if (v >= 1) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new org.postern.config.InvalidValueException(EXPECTED_VERSION, s);
        });
        String text = r.string("text", null);
        Path file = r.path("file");
        if (!hasVersion) {
            r.report("version", "expected " + EXPECTED_VERSION + ", found none (a charter needs a version)");
        }
        if (text != null && file != null) {
            r.report(null, "expected one of text or file, found both");
            return null;
        }
        if (text == null && file == null) {
            r.report(null, "expected text or file (the charter's text), found neither");
            return null;
        }
        if (file != null) {
            try {
                text = readUtf8(file);
            } catch (IOException e) {
                r.report("file", "expected a readable UTF-8 text file, found " + e.getMessage());
                return null;
            }
        }
        String problem = textProblem(text);
        if (problem != null) {
            r.report(file != null ? "file" : "text", (file != null ? file + ": " : "") + problem);
            return null;
        }
        return version >= 1 ? new Charter(version, text, file) : null;
    }

    private static String readUtf8(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(Files.exists(file) ? file + ", which is not a regular file" : "no file " + file);
        }
        // the size first: a wrong path to a huge file must not be read whole (UTF-8: at most 4 bytes a character)
        long size = Files.size(file);
        if (size > 4L * MAX_TEXT) {
            throw new IOException(file + ", which has " + size + " bytes (a charter has at most " + MAX_TEXT + " characters)");
        }
        byte[] bytes = Files.readAllBytes(file);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ", which is not valid UTF-8", e);
        }
    }

    /**
     * What is wrong with {@code text} as a charter, or null when nothing is: empty or blank, longer
     * than {@link #MAX_TEXT}, or holding a character a terminal would act on or that hides or
     * reorders words: C0 controls other than line feed and tab (a carriage return only before a line
     * feed), DEL, C1 controls (U+0080–U+009F), zero-width characters and marks (U+200B–U+200F) and
     * bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069). The text is
     * shown on SSH clients and terminals, and what the user accepts must be what they read. The
     * agent applies the same check to what the gateway sends.
     */
    public static @Nullable String textProblem(String text) {
        if (text.isBlank()) {
            return "expected the charter's text, found " + (text.isEmpty() ? "an empty text" : "only blanks");
        }
        if (text.length() > MAX_TEXT) {
            return "expected at most " + MAX_TEXT + " characters, found " + text.length();
        }
        int line = 1;
        int column = 1;
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            int width = Character.charCount(c);
            if (c == '\n') {
                line++;
                column = 1;
                i += width;
                continue;
            }
            boolean crlf = c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n';
            if (!crlf && forbidden(c)) {
                String hex = HexFormat.of().withUpperCase().toHexDigits(c);
                return "expected printable text (no control, invisible or bidirectional formatting characters), found U+"
                        + (c > 0xFFFF ? hex.replaceFirst("^0{0,3}", "") : hex.substring(4)) + " at line " + line + ", column " + column;
            }
            column++;
            i += width;
        }
        return null;
    }

    /**
     * Controls other than tab (C0, DEL, C1), every format character (Unicode category Cf: zero-width
     * characters, bidirectional marks and overrides, the soft hyphen, U+FEFF, the invisible tag
     * characters U+E0000–U+E007F), line and paragraph separators, and lone surrogates: each can hide,
     * reorder or smuggle words past the reader.
     */
    private static boolean forbidden(int c) {
        int type = Character.getType(c);
        return (c < 0x20 && c != '\t') || (c >= 0x7F && c <= 0x9F) || type == Character.FORMAT
                || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE;
    }
}
