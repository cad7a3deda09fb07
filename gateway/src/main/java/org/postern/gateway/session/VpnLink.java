package org.postern.gateway.session;

import java.net.InetAddress;
import java.util.Objects;

import io.netty.util.NetUtil;
import org.jspecify.annotations.Nullable;

/**
 * What a VPN session holds besides its flows: the address the device was given from
 * {@code vpn.pool} (and {@code vpn.pool6}) and the HTTP version carrying it.
 *
 * @param address   the device's IPv4 address in the pool
 * @param address6  its IPv6 address, or null without {@code vpn.pool6}
 * @param transport {@code h3} (HTTP/3 datagrams) or {@code h2} (HTTP/2 capsules)
 */
public record VpnLink(InetAddress address, @Nullable InetAddress address6, String transport) {

    public VpnLink {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(transport, "transport");
        if (!transport.equals("h3") && !transport.equals("h2")) {
            throw new IllegalArgumentException("VPN transport: expected h3 or h2, found \"" + transport + "\"");
        }
    }

    /** {@code 100.64.0.7}, or {@code 100.64.0.7 fd00:7057::7} with an IPv6 address, as the sessions list shows it. */
    public String addresses() {
        // RFC 5952 text (fd00:7057::7), not Java's uncompressed fd00:7057:0:0:0:0:0:7
        return address6 == null ? NetUtil.toAddressString(address)
                : NetUtil.toAddressString(address) + " " + NetUtil.toAddressString(address6);
    }
}
