package org.postern.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * A passphrase, token or key that must never reach a log. {@link #toString()} is redacted,
 * {@link #equals} compares in constant time, and reading the value is the explicit, grep-able
 * call {@link #reveal()} / {@link #revealBytes()}.
 */
public final class Secret {

    private final byte[] value;

    private Secret(byte[] value) {
        this.value = value;
    }

    public static Secret of(String value) {
        Objects.requireNonNull(value, "value");
        return new Secret(value.getBytes(StandardCharsets.UTF_8));
    }

    public static Secret ofBytes(byte[] value) {
        return new Secret(value.clone());
    }

    /** Reads a secret from the process environment; see {@link #fromEnv(String, Map)}. */
    public static Secret fromEnv(String name) {
        return fromEnv(name, System.getenv());
    }

    /**
     * Reads a secret from the environment variable {@code name}. The environment is a parameter
     * so tests need not touch the real one.
     *
     * @throws IllegalArgumentException naming the variable when it is unset or empty
     */
    public static Secret fromEnv(String name, Map<String, String> environment) {
        String v = environment.get(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("expected the environment variable " + name
                    + " to hold the secret, found " + (v == null ? "it unset" : "it empty"));
        }
        return of(v);
    }

    /**
     * Reads a secret from a file: its first line, without the line break. The file is the
     * place for a passphrase that must not show in {@code ps}.
     */
    public static Secret fromFile(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("expected a secret file at " + file + ", found none", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("expected a readable secret file at " + file + ", found " + e, e);
        }
        int nl = text.indexOf('\n');
        String line = (nl >= 0 ? text.substring(0, nl) : text).stripTrailing();
        if (line.isEmpty()) {
            throw new IllegalArgumentException("expected a secret on the first line of " + file + ", found an empty line");
        }
        return of(line);
    }

    /** The secret as text. Callers keep it out of logs and messages. */
    public String reveal() {
        return new String(value, StandardCharsets.UTF_8);
    }

    /** The secret as chars, for APIs such as PKCS#8 decryption that take {@code char[]}. */
    public char[] revealChars() {
        return reveal().toCharArray();
    }

    /** A copy of the secret's bytes. */
    public byte[] revealBytes() {
        return value.clone();
    }

    public int length() {
        return value.length;
    }

    /**
     * Compares in time that does not depend on where the values differ, so a remote caller
     * cannot learn a token byte by byte. The length is not hidden.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof Secret other && MessageDigest.isEqual(value, other.value);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(MessageDigestHolder.sha256(value));
    }

    @Override
    public String toString() {
        return "Secret[redacted]";
    }

    private static final class MessageDigestHolder {
        static byte[] sha256(byte[] in) {
            try {
                return MessageDigest.getInstance("SHA-256").digest(in);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
