package org.postern.gateway.policy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Network;

/**
 * The IPv4 addresses an IPv6 address carries, each with the IPv6 network that is the image of an
 * IPv4 range under that embedding. A translator or tunnel on the path delivers such an address to
 * the IPv4 host, so {@link ForbiddenAddresses} judges it by the IPv4 it carries:
 * <ul>
 *   <li>IPv4-compatible {@code ::a.b.c.d} (RFC 4291 2.5.5.1; not {@code ::} or {@code ::1});</li>
 *   <li>IPv4-translated {@code ::ffff:0:a.b.c.d} (RFC 2765; IPv4-mapped {@code ::ffff:a.b.c.d}
 *       never gets here, {@link Network#normalize} makes it the IPv4 address itself);</li>
 *   <li>NAT64 (RFC 6052): the well-known prefix {@code 64:ff9b::/96} with the IPv4 in the last 32
 *       bits; any other address of {@code 64:ff9b::/32} (the local-use {@code 64:ff9b:1::/48} of
 *       RFC 8215 among them) under every layout of RFC 6052 2.2 it is well formed for (prefix
 *       length 32, 40, 48, 56, 64 or 96: bits 64-71 zero and the suffix after the IPv4 zero),
 *       since the gateway cannot know which prefix length the network's translator uses. Such an
 *       address well formed for no layout (bits 64-71 not zero) gets a {@link Reading} with no
 *       IPv4, to be refused;</li>
 *   <li>6to4 {@code 2002:AABB:CCDD::/48} (RFC 3056);</li>
 *   <li>Teredo {@code 2001:0::/32} (RFC 4380): the server's IPv4 in bits 32-63 and the client's,
 *       inverted, in the last 32 bits; both count.</li>
 * </ul>
 */
final class EmbeddedIpv4 {

    /** RFC 6052's prefix lengths; the IPv4 bits skip bits 64-71 (the "u" octet). */
    private static final int[] NAT64_LAYOUTS = {32, 40, 48, 56, 64, 96};
    private static final int U_OCTET = 8;

    /**
     * One IPv4 address carried by an IPv6 address.
     *
     * @param ipv4   the IPv4 address carried, or null when the address is in a NAT64 prefix but well
     *               formed for no layout (refused outright)
     * @param form   how it is carried, for messages: {@code "NAT64 64:ff9b::/96 (RFC 6052)"}
     * @param ipv6   the IPv6 address carrying it
     * @param layout maps an IPv4 prefix length to the IPv6 prefix length covering the same bits
     */
    record Reading(@Nullable Inet4Address ipv4, String form, Inet6Address ipv6, Layout layout) {
        Reading {
            Objects.requireNonNull(form, "form");
            Objects.requireNonNull(ipv6, "ipv6");
            Objects.requireNonNull(layout, "layout");
        }

        /**
         * The IPv6 network of the addresses that carry, in this same way and with everything else
         * as in {@link #ipv6}, an IPv4 address of {@code ipv4Range}. A rule must lie inside it to
         * open a forbidden embedded address.
         */
        Network image(Network ipv4Range) {
            int bits = layout.ipv6Prefix(ipv4Range.prefixLength());
            return new Network(mask(ipv6, bits), bits);
        }
    }

    /** Where the IPv4 bits sit. */
    @FunctionalInterface
    interface Layout {
        /** The IPv6 prefix length that fixes everything before and the first {@code ipv4Prefix} bits of the IPv4. */
        int ipv6Prefix(int ipv4Prefix);

        /** The IPv4 in 32 contiguous bits from {@code offset}. */
        static Layout contiguous(int offset) {
            return n -> offset + n;
        }
    }

    private EmbeddedIpv4() {
    }

    /** The IPv4 addresses {@code address} carries; empty for IPv4 and for IPv6 that embeds none. */
    static List<Reading> of(InetAddress address) {
        if (!(address instanceof Inet6Address a6)) {
            return List.of();
        }
        byte[] b = a6.getAddress();
        List<Reading> out = new ArrayList<>(2);
        if (zero(b, 0, 12)) {
            if (!zero(b, 12, 15) || (b[15] & 0xff) > 1) { // not :: nor ::1, which are themselves forbidden
                out.add(reading(b, 12, false, "IPv4-compatible ::/96 (RFC 4291)", a6, Layout.contiguous(96)));
            }
        } else if (zero(b, 0, 8) && (b[8] & 0xff) == 0xff && (b[9] & 0xff) == 0xff && zero(b, 10, 12)) {
            out.add(reading(b, 12, false, "IPv4-translated ::ffff:0:0/96 (RFC 2765)", a6, Layout.contiguous(96)));
        } else if (b[0] == 0x00 && b[1] == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b) {
            nat64(b, a6, out);
        } else if (b[0] == 0x20 && b[1] == 0x02) {
            out.add(reading(b, 2, false, "6to4 2002::/16 (RFC 3056)", a6, Layout.contiguous(16)));
        } else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
            out.add(reading(b, 4, false, "Teredo 2001::/32 server (RFC 4380)", a6, Layout.contiguous(32)));
            out.add(reading(b, 12, true, "Teredo 2001::/32 client (RFC 4380)", a6, Layout.contiguous(96)));
        }
        return out;
    }

    private static void nat64(byte[] b, Inet6Address a6, List<Reading> out) {
        if (zero(b, 4, 12)) {
            out.add(reading(b, 12, false, "NAT64 64:ff9b::/96 (RFC 6052)", a6, Layout.contiguous(96)));
            return;
        }
        if (b[U_OCTET] != 0) {
            out.add(new Reading(null, "a NAT64 64:ff9b::/32 address with bits 64-71 set, in no RFC 6052 layout",
                    a6, n -> 128));
            return;
        }
        for (int prefix : NAT64_LAYOUTS) {
            int[] at = nat64Octets(prefix);
            if (zero(b, at[3] + 1, 16)) { // the suffix after the IPv4 is zero: well formed for this layout
                byte[] v4 = {b[at[0]], b[at[1]], b[at[2]], b[at[3]]};
                out.add(new Reading(ipv4(v4), "NAT64 64:ff9b::/" + prefix + " layout (RFC 6052)", a6,
                        n -> n == 0 ? prefix : bitOf(prefix, n - 1) + 1));
            }
        }
    }

    /** The byte positions of the four IPv4 octets under RFC 6052 prefix length {@code prefix}. */
    private static int[] nat64Octets(int prefix) {
        int[] at = new int[4];
        int p = prefix / 8;
        for (int i = 0; i < 4; i++, p++) {
            if (p == U_OCTET) {
                p++;
            }
            at[i] = p;
        }
        return at;
    }

    /** The IPv6 bit holding IPv4 bit {@code i} under RFC 6052 prefix length {@code prefix}. */
    private static int bitOf(int prefix, int i) {
        int bit = prefix + i;
        return prefix <= 64 && bit >= 64 ? bit + 8 : bit;
    }

    private static Reading reading(byte[] b, int from, boolean inverted, String form, Inet6Address a6, Layout layout) {
        byte[] v4 = new byte[4];
        for (int i = 0; i < 4; i++) {
            v4[i] = (byte) (inverted ? ~b[from + i] : b[from + i]);
        }
        return new Reading(ipv4(v4), form, a6, layout);
    }

    private static Inet4Address ipv4(byte[] v4) {
        try {
            return (Inet4Address) InetAddress.getByAddress(v4);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // four bytes are always an IPv4 address
        }
    }

    private static boolean zero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static InetAddress mask(Inet6Address a6, int bits) {
        byte[] out = a6.getAddress();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - i * 8));
            out[i] &= (byte) (0xff << (8 - keep));
        }
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
