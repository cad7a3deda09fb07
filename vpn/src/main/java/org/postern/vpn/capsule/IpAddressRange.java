package org.postern.vpn.capsule;

import java.net.InetAddress;
import java.util.Arrays;

/**
 * One IP Address Range of a ROUTE_ADVERTISEMENT (RFC 9484 §4.7.3): inclusive start and end of one
 * family, start not above end, and the IP protocol the route carries (0 = all; ICMP always passes).
 */
public record IpAddressRange(InetAddress start, InetAddress end, int ipProtocol) {
    public IpAddressRange {
        if (IpBytes.versionOf(start) != IpBytes.versionOf(end)) {
            throw new CapsuleException("IP address range: expected start and end of one IP version, found "
                    + start.getHostAddress() + " and " + end.getHostAddress());
        }
        if (Arrays.compareUnsigned(start.getAddress(), end.getAddress()) > 0) {
            throw new CapsuleException("IP address range: expected start <= end, found "
                    + start.getHostAddress() + " > " + end.getHostAddress());
        }
        if (ipProtocol < 0 || ipProtocol > 255) {
            throw new CapsuleException("IP address range: expected an IP protocol 0-255, found " + ipProtocol);
        }
    }

    /** The range that covers exactly the prefix {@code network/prefixLength}. */
    public static IpAddressRange ofPrefix(InetAddress network, int prefixLength, int ipProtocol) {
        byte[] start = network.getAddress();
        IpBytes.checkPrefix(start, prefixLength);
        byte[] end = start.clone();
        for (int bit = prefixLength; bit < end.length * 8; bit++) {
            end[bit / 8] |= (byte) (0x80 >>> (bit % 8));
        }
        return new IpAddressRange(network, IpBytes.toAddress(end), ipProtocol);
    }

    /** 4 or 6. */
    public int ipVersion() {
        return IpBytes.versionOf(start);
    }

    @Override
    public String toString() {
        return start.getHostAddress() + "-" + end.getHostAddress() + (ipProtocol == 0 ? "" : " proto " + ipProtocol);
    }
}
