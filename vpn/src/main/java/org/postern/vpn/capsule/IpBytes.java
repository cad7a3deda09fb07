package org.postern.vpn.capsule;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Address helpers shared by the capsule records: version bytes, widths and prefix checks. */
final class IpBytes {
    private IpBytes() {
    }

    static int versionOf(InetAddress address) {
        return address instanceof Inet4Address ? 4 : 6;
    }

    /** The address width in bytes for an IP version byte; anything but 4 or 6 is malformed. */
    static int width(int ipVersion) {
        return switch (ipVersion) {
            case 4 -> 4;
            case 6 -> 16;
            default -> throw new CapsuleException("IP version: expected 4 or 6, found " + ipVersion);
        };
    }

    static InetAddress toAddress(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException impossible) {
            throw new IllegalStateException("an address of 4 or 16 bytes is always valid", impossible);
        }
    }

    /** Checks the prefix length against the width and that the host bits it leaves are zero. */
    static void checkPrefix(byte[] address, int prefixLength) {
        int bits = address.length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new CapsuleException("prefix length: expected 0 to " + bits + " for IPv" + (bits == 32 ? 4 : 6)
                    + ", found " + prefixLength);
        }
        for (int bit = prefixLength; bit < bits; bit++) {
            if ((address[bit / 8] & (0x80 >>> (bit % 8))) != 0) {
                throw new CapsuleException("prefix " + toAddress(address).getHostAddress() + "/" + prefixLength
                        + ": expected the host bits after the prefix to be zero, found bit " + bit + " set");
            }
        }
    }
}
