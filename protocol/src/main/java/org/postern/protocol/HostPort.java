package org.postern.protocol;

import java.util.Objects;

/**
 * A destination as a peer asked for it: a host (a name or an IP literal, IPv6 without brackets)
 * and a port in 1..65535. Whether the name is well formed and where it resolves is the gateway's
 * resolver's business; this record only refuses what can never be a destination: no host, a
 * port out of range, or a host with brackets, white space or control characters in it (no name
 * or address has them; {@code [[]]:443} once gave the host {@code []}, whose text form did not
 * parse back — found by {@code HostPortFuzzTest}).
 */
public record HostPort(String host, int port) {

    public HostPort {
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("expected a host name or IP address, found none");
        }
        if (host.chars().anyMatch(c -> c == '[' || c == ']' || Character.isWhitespace(c) || Character.isISOControl(c))) {
            throw new IllegalArgumentException("expected a host name or IP address, found \"" + host + "\"");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("expected a port between 1 and 65535, found " + port + " (host " + host + ")");
        }
    }

    /**
     * Reads {@code host:port} as a CONNECT request-target or an {@code :authority} carries it
     * ({@code [v6]:port} for IPv6).
     */
    public static HostPort parse(String authority) {
        Objects.requireNonNull(authority, "authority");
        int colon = authority.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("expected host:port, found \"" + authority + "\"");
        }
        String host = authority.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String p = authority.substring(colon + 1);
        if (p.isEmpty() || p.length() > 5 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("expected a port between 1 and 65535, found \"" + p + "\" (host " + host + ")");
        }
        return new HostPort(host, Integer.parseInt(p));
    }

    /** {@code host:port}, with brackets around an IPv6 literal. */
    @Override
    public String toString() {
        return format(host, port);
    }

    /** {@code host:port}, with brackets around an IPv6 literal. */
    public static String format(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
