package org.postern.pki.registry;

import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A device's latest acceptance of the remote-work charter: which version, the SHA-256 of the text
 * it was shown, by whom (the device's owner then) and when. The gateway admits a device while a
 * charter is required only when its acceptance is by its current owner and of the current version
 * with the current text (same SHA-256), or of a later version.
 *
 * @param deviceId   the device that accepted
 * @param owner      the device's owner when it accepted
 * @param version    the charter version accepted (positive)
 * @param sha256     hex SHA-256 (lower case) of the UTF-8 text accepted
 * @param acceptedAt when the gateway recorded it
 */
public record CharterAcceptance(String deviceId, String owner, int version, String sha256, Instant acceptedAt) {

    public CharterAcceptance {
        Device.checkId(deviceId);
        Objects.requireNonNull(owner, "owner");
        if (version < 1) {
            throw new IllegalArgumentException("charter version: expected a positive integer, found " + version);
        }
        Objects.requireNonNull(sha256, "sha256");
        if (sha256.length() != 64 || !sha256.chars().allMatch(HexFormat::isHexDigit) || !sha256.equals(sha256.toLowerCase(java.util.Locale.ROOT))) {
            throw new IllegalArgumentException("charter sha256: expected 64 lower-case hex digits, found \"" + sha256 + "\"");
        }
        Objects.requireNonNull(acceptedAt, "acceptedAt");
    }
}
