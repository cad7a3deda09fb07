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
 * device (for its current owner) accepted this version or a later one ({@code charter.not_accepted});
 * raising {@code version} asks everyone to accept again. Absent: no charter is required.
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
        byte[] bytes = Files.readAllBytes(file);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ", which is not valid UTF-8", e);
        }
    }

    private static @Nullable String textProblem(String text) {
        if (text.isBlank()) {
            return "expected the charter's text, found " + (text.isEmpty() ? "an empty text" : "only blanks");
        }
        if (text.length() > MAX_TEXT) {
            return "expected at most " + MAX_TEXT + " characters, found " + text.length();
        }
        return null;
    }
}
