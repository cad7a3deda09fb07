package org.postern.gateway.gate;

import org.jspecify.annotations.Nullable;

/**
 * Who asks to pass the gate, as the entry path knows it before the registry is read.
 *
 * @param deviceId the device its credential names (TLS client certificate CN, SSH certificate key
 *                 id), or null when it presented none
 * @param login    the user it claims to be (the SSH login), or null when it claims none; the gate
 *                 checks a claim against the device's owner in the registry
 * @param source   the peer's address, {@code ip:port}, for the audit trail
 */
public record Who(@Nullable String deviceId, @Nullable String login, String source) {

    /** A device known by its credential, claiming no user. */
    public static Who device(String deviceId, String source) {
        return new Who(deviceId, null, source);
    }
}
