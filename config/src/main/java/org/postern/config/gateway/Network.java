package org.postern.config.gateway;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * An IP network in CIDR form, {@code 10.20.0.0/16} or {@code 2001:db8::/32}; a single address is
 * a network of one ({@code /32}, {@code /128}). Addresses are kept {@linkplain #normalize
 * normalized}, so {@code ::ffff:127.0.0.1} is the IPv4 address {@code 127.0.0.1} here: an
 * IPv4-mapped IPv6 form must never slip past a check written for the IPv4 address.
 */
public record Network(InetAddress address, int prefixLength) {

    private static final Pattern IPV4 = Pattern.compile("(0|[1-9]\\d{0,2})(\\.(0|[1-9]\\d{0,2})){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
    private static final Pattern PREFIX = Pattern.compile("0|[1-9]\\d{0,2}");

    public Network {
        Objects.requireNonNull(address, "address");
        address = normalize(address);
        int bits = address.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new IllegalArgumentException("expected a prefix length between 0 and " + bits + ", found "
                    + prefixLength);
        }
        if (!Arrays.equals(mask(address.getAddress(), prefixLength), address.getAddress())) {
            throw new IllegalArgumentException("expected a network address with no host bits set, found "
                    + address.getHostAddress() + "/" + prefixLength);
        }
    }

    /** The network of exactly {@code address}. */
    public static Network of(InetAddress address) {
        InetAddress a = normalize(address);
        return new Network(a, a.getAddress().length * 8);
    }

    /**
     * Parses {@code 10.20.0.0/16}, {@code 2001:db8::/32} or a single address ({@code 10.0.0.5},
     * {@code 2001:db8::1}); IPv4 with exactly four decimal parts without leading zeros (so that
     * {@code 010.0.0.1} is not read one way here and another way by a tool that takes it as octal).
     *
     * @throws IllegalArgumentException when {@code text} is not such a network; the message says why
     */
    public static Network parse(String text) {
        Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        String host = slash < 0 ? text : text.substring(0, slash);
        InetAddress address = parseAddress(host);
        if (address == null) {
            throw new IllegalArgumentException("expected an IP address, found \"" + host + "\"");
        }
        if (slash < 0) {
            return of(address);
        }
        String prefix = text.substring(slash + 1);
        if (!PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("expected a prefix length, found \"" + prefix + "\"");
        }
        return new Network(address, Integer.parseInt(prefix));
    }

    /**
     * An IP literal ({@code 10.0.0.5}, {@code 2001:db8::1}, {@code ::ffff:127.0.0.1}) as a
     * normalized address, or null when {@code text} is not one; never asks DNS.
     */
    public static @Nullable InetAddress parseAddress(@Nullable String text) {
        if (text == null) {
            return null;
        }
        boolean v4 = IPV4.matcher(text).matches();
        if (!v4 && !IPV6.matcher(text).matches()) {
            return null;
        }
        try {
            return normalize(InetAddress.ofLiteral(text));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The IPv4 address inside an IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}), else
     * {@code address} itself. The kernel connects {@code ::ffff:127.0.0.1} to loopback, so every
     * check must see it as {@code 127.0.0.1}.
     */
    public static InetAddress normalize(InetAddress address) {
        Objects.requireNonNull(address, "address");
        if (address instanceof Inet6Address a6 && a6.getScopeId() != 0) {
            return address; // fe80::1%eth0: keep the scope; a link-local address is never mapped IPv4
        }
        try {
            // getByAddress turns a 16-byte IPv4-mapped address into an Inet4Address.
            return InetAddress.getByAddress(address.getAddress());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes from an InetAddress are always valid
        }
    }

    /** Whether {@code other} (normalized first) lies in this network; false across families. */
    public boolean contains(InetAddress other) {
        return containsNormalized(normalize(other).getAddress());
    }

    /**
     * Whether the address of these bytes lies in this network; false across families. For a caller
     * that checks one address against many networks ({@link ProxyProtocol.Listener#trusts}, once per
     * accepted connection): it {@linkplain #normalize normalizes} once and passes
     * {@code normalize(a).getAddress()} here. Bytes not normalized would let {@code ::ffff:10.0.0.5}
     * miss the network {@code 10.0.0.0/24}.
     */
    public boolean containsNormalized(byte[] normalized) {
        byte[] mine = address.getAddress();
        if (normalized.length != mine.length) {
            return false;
        }
        for (int i = 0; i < mine.length; i++) {
            int keep = Math.max(0, Math.min(8, prefixLength - i * 8));
            if (((normalized[i] ^ mine[i]) & (0xff << (8 - keep)) & 0xff) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Whether all of {@code other} lies in this network. */
    public boolean contains(Network other) {
        return other.prefixLength >= prefixLength && contains(other.address);
    }

    /** Whether this network is a single address. */
    public boolean isSingleAddress() {
        return prefixLength == address.getAddress().length * 8;
    }

    @Override
    public String toString() {
        return isSingleAddress() ? address.getHostAddress() : address.getHostAddress() + "/" + prefixLength;
    }

    private static byte[] mask(byte[] address, int prefixLength) {
        byte[] out = address.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, prefixLength - i * 8));
            out[i] &= (byte) (0xff << (8 - keep));
        }
        return out;
    }
}
