package org.postern.vpn.packet;

import java.net.InetAddress;

/**
 * A flow key: IP version, protocol, and both ends as the device sees them (source = the device).
 * Addresses are two longs each, so equality and hashing touch only primitives. For ICMP echo both
 * ports hold the echo identifier; for protocols without ports both are 0.
 */
public record FiveTuple(int ipVersion, int protocol, long sourceHigh, long sourceLow, int sourcePort,
        long destinationHigh, long destinationLow, int destinationPort) {

    /** The key of the other direction. */
    public FiveTuple reversed() {
        return new FiveTuple(ipVersion, protocol, destinationHigh, destinationLow, destinationPort,
                sourceHigh, sourceLow, sourcePort);
    }

    /** Allocates; for audit and logs. */
    public InetAddress source() {
        return Addresses.toInetAddress(ipVersion, sourceHigh, sourceLow);
    }

    /** Allocates; for audit and logs. */
    public InetAddress destination() {
        return Addresses.toInetAddress(ipVersion, destinationHigh, destinationLow);
    }

    /** The protocol's name as the audit trail writes it: tcp, udp, icmp, icmpv6, or its number. */
    public String protocolName() {
        return switch (protocol) {
            case IpPacket.TCP -> "tcp";
            case IpPacket.UDP -> "udp";
            case IpPacket.ICMP -> "icmp";
            case IpPacket.ICMPV6 -> "icmpv6";
            default -> Integer.toString(protocol);
        };
    }

    @Override
    public int hashCode() {
        long h = sourceHigh * 31 + sourceLow;
        h = h * 31 + destinationHigh;
        h = h * 31 + destinationLow;
        h = h * 31 + ((long) sourcePort << 16 | destinationPort);
        h = h * 31 + (protocol << 4 | ipVersion);
        return (int) (h ^ (h >>> 32));
    }

    @Override
    public String toString() {
        String src = source().getHostAddress();
        String dst = destination().getHostAddress();
        if (ipVersion == 6) {
            src = "[" + src + "]";
            dst = "[" + dst + "]";
        }
        return protocolName() + " " + src + ":" + sourcePort + " -> " + dst + ":" + destinationPort;
    }
}
