package org.postern.vpn.link;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * An address on an interface with the length of the prefix it sits in, {@code 10.99.0.1/24} or
 * {@code fd00:99::1/64}; unlike a network ({@code org.postern.config.gateway.Network}) it has
 * host bits.
 */
public record LinkAddress(InetAddress address, int prefixLength) {

    public LinkAddress {
        Objects.requireNonNull(address, "address");
        int bits = address.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new IllegalArgumentException("expected a prefix length between 0 and " + bits + " for "
                    + Addresses.text(address) + ", found " + prefixLength);
        }
    }

    /** Parses {@code 10.99.0.1/24} or {@code fd00:99::1/64}; IP literals only, never DNS. */
    public static LinkAddress parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("expected ADDRESS/PREFIX like 10.99.0.1/24, found \"" + text + "\"");
        }
        InetAddress address = org.postern.config.gateway.Network.parseAddress(text.substring(0, slash));
        if (address == null) {
            throw new IllegalArgumentException("expected an IP address before the '/', found \"" + text + "\"");
        }
        try {
            return new LinkAddress(address, Integer.parseInt(text.substring(slash + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected a prefix length after the '/', found \"" + text + "\"");
        }
    }

    public boolean isIpv6() {
        return address instanceof Inet6Address;
    }

    @Override
    public String toString() {
        return Addresses.text(address) + "/" + prefixLength;
    }
}
