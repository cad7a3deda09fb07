package org.postern.gateway.session;

import java.time.Instant;
import java.util.Objects;

/**
 * One live session as the admin API and {@code postern gateway sessions} show it.
 *
 * @param id         the session id (also in every audit record of the session)
 * @param device     the device id
 * @param user       the device's owner
 * @param source     the client's address, {@code ip:port}
 * @param via        {@code tls} (CONNECT tunnels) or {@code ssh} (the bastion)
 * @param since      when {@code session.start} was recorded
 * @param flows      tunnels open now
 * @param bytesUp    bytes relayed laptop → admin hosts so far
 * @param bytesDown  bytes relayed admin hosts → laptop so far
 * @param leaseUntil when the device's posture lease ends unless renewed, or null if none
 */
public record SessionInfo(String id, String device, String user, String source, String via, Instant since,
                          int flows, long bytesUp, long bytesDown, Instant leaseUntil) {

    public SessionInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(via, "via");
        Objects.requireNonNull(since, "since");
    }
}
