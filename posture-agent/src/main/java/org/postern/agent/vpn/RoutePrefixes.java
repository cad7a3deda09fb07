package org.postern.agent.vpn;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

import org.postern.config.gateway.Network;
import org.postern.vpn.capsule.IpAddressRange;
import org.postern.vpn.link.LinkAddress;

/**
 * Turns the ranges of a ROUTE_ADVERTISEMENT (RFC 9484 §4.7.3: start and end address) into the
 * prefixes a routing table takes. A whole address family becomes its two halves ({@code 0.0.0.0/1}
 * and {@code 128.0.0.0/1}): more specific than the default route, which stays in place to be
 * restored by simply deleting them.
 */
final class RoutePrefixes {
    private RoutePrefixes() {}

    /** The smallest list of prefixes that covers exactly the ranges, in order. */
    static List<Network> of(List<IpAddressRange> ranges) {
        List<Network> out = new ArrayList<>();
        for (IpAddressRange r : ranges) {
            int bits = r.start().getAddress().length * 8;
            BigInteger start = new BigInteger(1, r.start().getAddress());
            BigInteger end = new BigInteger(1, r.end().getAddress());
            while (start.compareTo(end) <= 0) {
                int size = start.signum() == 0 ? bits : start.getLowestSetBit(); // alignment of start
                while (size > 0 && start.add(BigInteger.ONE.shiftLeft(size)).subtract(BigInteger.ONE).compareTo(end) > 0) {
                    size--;
                }
                int prefix = bits - size;
                if (prefix == 0) { // the whole family: two halves, so the default route is kept, not replaced
                    out.add(new Network(address(start, bits), 1));
                    out.add(new Network(address(start.setBit(bits - 1), bits), 1));
                } else {
                    out.add(new Network(address(start, bits), prefix));
                }
                start = start.add(BigInteger.ONE.shiftLeft(size));
            }
        }
        return out;
    }

    /** {@code 10.88.0.5/32}: always with the length, unlike {@link Network#toString()}. */
    static String text(Network n) {
        return new LinkAddress(n.address(), n.prefixLength()).toString();
    }

    /** {@code 100.64.0.2}, {@code fd00:706f::2}: IPv6 in its short form. */
    static String text(InetAddress a) {
        String s = new LinkAddress(a, 0).toString();
        return s.substring(0, s.lastIndexOf('/'));
    }

    private static InetAddress address(BigInteger value, int bits) {
        byte[] raw = value.toByteArray();
        byte[] out = new byte[bits / 8];
        int copy = Math.min(raw.length, out.length);
        System.arraycopy(raw, raw.length - copy, out, out.length - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // a 4- or 16-byte array is always an address
        }
    }
}
