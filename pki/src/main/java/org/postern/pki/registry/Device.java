package org.postern.pki.registry;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A registered laptop. The id becomes the certificate's CN and SAN URI, so it is restricted to
 * a safe alphabet. {@code enrolledAt}, {@code lastSeen} and {@code lastPosture} are null until known.
 */
public record Device(
        String id,
        String owner,
        List<String> groups,
        DeviceStatus status,
        String hardwareSerial,
        Instant createdAt,
        Instant enrolledAt,
        Instant lastSeen,
        String lastPosture) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,127}");

    public Device {
        checkId(id);
        if (owner == null || !NAME.matcher(owner).matches()) {
            throw new IllegalArgumentException("device owner: expected a user name of letters, digits, '.', '_', '@' or '-', found \"" + owner + "\"");
        }
        groups = List.copyOf(groups);
        for (String g : groups) {
            if (!NAME.matcher(g).matches()) {
                throw new IllegalArgumentException("device group: expected letters, digits, '.', '_', '@' or '-', found \"" + g + "\"");
            }
        }
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /** Checks a device id: 1-63 characters of letters, digits, '.', '_' and '-', starting with a letter or digit. */
    public static String checkId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("device id: expected 1-63 letters, digits, '.', '_' or '-' starting with a letter or digit, found \"" + id + "\"");
        }
        return id;
    }

    public Device withStatus(DeviceStatus newStatus) {
        return new Device(id, owner, groups, newStatus, hardwareSerial, createdAt, enrolledAt, lastSeen, lastPosture);
    }
}
