package org.postern.keys;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;

/** SHA-256 fingerprints as lower-case hex, the form the CLI prints and {@code --ca-sha256} takes. */
public final class Fingerprints {
    private Fingerprints() {
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256(X509Certificate cert) {
        try {
            return sha256(cert.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Accepts {@code ab:cd:…} or {@code abcd…}, any case; returns plain lower-case hex. */
    public static String normalize(String fingerprint) {
        String hex = fingerprint.replace(":", "").strip().toLowerCase(java.util.Locale.ROOT);
        if (!hex.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("expected a SHA-256 fingerprint of 64 hex digits (colons allowed), found \"" + fingerprint + "\"");
        }
        return hex;
    }
}
