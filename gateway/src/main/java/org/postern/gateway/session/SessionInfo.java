package org.postern.gateway.session;

import java.time.Instant;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * One live session as the admin API and {@code postern gateway sessions} show it.
 *
 * @param id         the session id (also in every audit record of the session)
 * @param device     the device id
 * @param user       the device's owner
 * @param source     the client's address, {@code ip:port}
 * @param via        {@code tls} (CONNECT tunnels), {@code ssh} (the bastion) or {@code vpn} (the VPN mode)
 * @param since      when {@code session.start} was recorded
 * @param flows      tunnels open now
 * @param bytesUp    bytes relayed laptop → admin hosts so far
 * @param bytesDown  bytes relayed admin hosts → laptop so far
 * @param leaseUntil when the device's posture lease ends unless renewed, or null if none
 * @param address    a VPN session's device address(es) ({@link VpnLink#addresses()}), else null
 * @param transport  a VPN session's transport, {@code h3} or {@code h2}, else null
 */
public record SessionInfo(String id, String device, String user, String source, String via, Instant since,
                          int flows, long bytesUp, long bytesDown, @Nullable Instant leaseUntil,
                          @Nullable String address, @Nullable String transport) {

    public SessionInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(via, "via");
        Objects.requireNonNull(since, "since");
    }

    /** A session without a VPN address: CONNECT tunnels, the SSH bastion. */
    public SessionInfo(String id, String device, String user, String source, String via, Instant since,
                       int flows, long bytesUp, long bytesDown, @Nullable Instant leaseUntil) {
        this(id, device, user, source, via, since, flows, bytesUp, bytesDown, leaseUntil, null, null);
    }
}
