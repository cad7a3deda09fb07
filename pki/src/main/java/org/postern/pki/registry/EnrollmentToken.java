package org.postern.pki.registry;

import java.time.Instant;
import java.util.Objects;

/**
 * A one-time enrollment token as stored: only its SHA-256 ({@code hash}, hex), never the token.
 * {@code usedAt} is null until an enrollment consumed it.
 */
public record EnrollmentToken(String hash, String deviceId, Instant createdAt, Instant expiresAt, Instant usedAt) {
    public EnrollmentToken {
        Objects.requireNonNull(hash, "hash");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }

    public boolean used() {
        return usedAt != null;
    }
}
