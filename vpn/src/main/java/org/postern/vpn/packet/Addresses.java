package org.postern.vpn.packet;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Conversions between addresses as two longs (IPv4 mapped to ::ffff:0:0/96) and {@link InetAddress}. */
public final class Addresses {
    private Addresses() {
    }

    /** The high 64 bits of an address in the two-long form. */
    public static long high(InetAddress address) {
        byte[] bytes = address.getAddress();
        return bytes.length == 4 ? 0 : toLong(bytes, 0);
    }

    /** The low 64 bits of an address in the two-long form. */
    public static long low(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length == 4) {
            return IpPacket.V4_MAPPED | (toLong(bytes, 0) >>> 32) & 0xFFFF_FFFFL;
        }
        return toLong(bytes, 8);
    }

    /** The address of version {@code ipVersion} held in two longs. */
    public static InetAddress toInetAddress(int ipVersion, long high, long low) {
        byte[] bytes;
        if (ipVersion == 4) {
            bytes = new byte[4];
            putInt(bytes, 0, (int) low);
        } else {
            bytes = new byte[16];
            putInt(bytes, 0, (int) (high >>> 32));
            putInt(bytes, 4, (int) high);
            putInt(bytes, 8, (int) (low >>> 32));
            putInt(bytes, 12, (int) low);
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException impossible) {
            throw new IllegalStateException("an address of 4 or 16 bytes is always valid", impossible);
        }
    }

    static boolean isIpv4(InetAddress address) {
        return address instanceof Inet4Address;
    }

    private static long toLong(byte[] bytes, int from) {
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = (value << 8) | (from + i < bytes.length ? bytes[from + i] & 0xFF : 0);
        }
        return value;
    }

    private static void putInt(byte[] bytes, int at, int value) {
        bytes[at] = (byte) (value >>> 24);
        bytes[at + 1] = (byte) (value >>> 16);
        bytes[at + 2] = (byte) (value >>> 8);
        bytes[at + 3] = (byte) value;
    }
}
