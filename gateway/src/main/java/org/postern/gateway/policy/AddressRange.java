package org.postern.gateway.policy;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.postern.config.gateway.Network;

/**
 * A contiguous run of addresses of one family, {@code start} to {@code end} both included: what a
 * route advertisement carries (RFC 9484 ROUTE_ADVERTISEMENT is a list of such ranges). The
 * addresses are kept as given (16 bytes stay IPv6, so a range across {@code ::ffff:0:0/96} stays
 * one IPv6 range); {@link #contains} normalizes what it is asked about.
 */
public record AddressRange(InetAddress start, InetAddress end) implements Comparable<AddressRange> {

    public AddressRange {
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(end, "end");
        if (start.getAddress().length != end.getAddress().length) {
            throw new IllegalArgumentException("expected start and end of one family, found " + start.getHostAddress()
                    + " and " + end.getHostAddress());
        }
        if (number(start).compareTo(number(end)) > 0) {
            throw new IllegalArgumentException("expected start <= end, found " + start.getHostAddress() + " > "
                    + end.getHostAddress());
        }
    }

    /** Every address of {@code network}. */
    public static AddressRange of(Network network) {
        byte[] first = network.address().getAddress();
        byte[] last = first.clone();
        int bits = last.length * 8;
        for (int i = network.prefixLength(); i < bits; i++) {
            last[i / 8] |= (byte) (0x80 >>> (i % 8));
        }
        return new AddressRange(address(first), address(last));
    }

    /** Whether this range holds IPv4 addresses (else IPv6). */
    public boolean isIpv4() {
        return start.getAddress().length == 4;
    }

    /** Whether {@code address} (normalized) lies in this range; false across families. */
    public boolean contains(InetAddress address) {
        byte[] b = Network.normalize(address).getAddress();
        if (b.length != start.getAddress().length) {
            return false;
        }
        BigInteger n = new BigInteger(1, b);
        return n.compareTo(number(start)) >= 0 && n.compareTo(number(end)) <= 0;
    }

    /** The fewest CIDR networks covering exactly this range, in order: for a routing table. */
    public List<Network> prefixes() {
        int bits = start.getAddress().length * 8;
        List<Network> out = new ArrayList<>();
        BigInteger from = number(start);
        BigInteger to = number(end);
        while (from.compareTo(to) <= 0) {
            int size = from.signum() == 0 ? bits : from.getLowestSetBit(); // alignment of from
            while (size > 0 && from.add(BigInteger.ONE.shiftLeft(size)).subtract(BigInteger.ONE).compareTo(to) > 0) {
                size--;
            }
            out.add(new Network(address(bytes(from, bits / 8)), bits - size));
            from = from.add(BigInteger.ONE.shiftLeft(size));
        }
        return out;
    }

    @Override
    public int compareTo(AddressRange o) {
        int family = Integer.compare(start.getAddress().length, o.start.getAddress().length);
        if (family != 0) {
            return family;
        }
        int s = number(start).compareTo(number(o.start));
        return s != 0 ? s : number(end).compareTo(number(o.end));
    }

    /** {@code 10.0.0.0-10.0.0.255}, or one address alone. */
    @Override
    public String toString() {
        return start.equals(end) ? start.getHostAddress() : start.getHostAddress() + "-" + end.getHostAddress();
    }

    static BigInteger number(InetAddress a) {
        return new BigInteger(1, a.getAddress());
    }

    static InetAddress address(BigInteger n, int length) {
        return address(bytes(n, length));
    }

    private static byte[] bytes(BigInteger n, int length) {
        byte[] raw = n.toByteArray();
        byte[] out = new byte[length];
        int copy = Math.min(raw.length, length);
        System.arraycopy(raw, raw.length - copy, out, length - copy, copy);
        return out;
    }

    private static InetAddress address(byte[] b) {
        try {
            // getByAddress(byte[]) would turn ::ffff:a.b.c.d into IPv4; with a host name it keeps 16 bytes.
            return b.length == 16 ? java.net.Inet6Address.getByAddress(null, b, -1) : InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes are always an address
        }
    }
}
