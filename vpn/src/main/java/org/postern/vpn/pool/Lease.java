package org.postern.vpn.pool;

import java.net.Inet4Address;
import java.net.Inet6Address;
import org.jspecify.annotations.Nullable;

/** The addresses one device holds: always an IPv4 address, an IPv6 address when the pool has a prefix. */
public record Lease(String deviceId, Inet4Address ipv4, @Nullable Inet6Address ipv6) {
}
