package org.postern.vpn.tun;

import java.nio.ByteBuffer;

/**
 * Turns an ICMP or ICMPv6 echo request read from a TUN device into the echo reply a host at its
 * destination would send (addresses swapped, type changed, checksums recomputed), in place: the
 * tests play the remote end of the tunnel with it. IPv6 without extension headers only.
 */
final class EchoReplies {

    private EchoReplies() {
    }

    /** Rewrites {@code packet} (position 0 to limit) into an echo reply; false when it is no echo request. */
    static boolean toReply(ByteBuffer packet) {
        if (packet.limit() < 1) {
            return false;
        }
        return switch ((packet.get(0) & 0xf0) >> 4) {
            case 4 -> ipv4(packet);
            case 6 -> ipv6(packet);
            default -> false;
        };
    }

    private static boolean ipv4(ByteBuffer p) {
        int headerLength = (p.get(0) & 0x0f) * 4;
        int total = p.getShort(2) & 0xffff;
        if (p.get(9) != 1 || total > p.limit() || p.get(headerLength) != 8) {
            return false;
        }
        swap(p, 12, 16, 4);
        p.put(8, (byte) 64);
        p.putShort(10, (short) 0);
        p.putShort(10, (short) checksum(p, 0, headerLength, 0));
        p.put(headerLength, (byte) 0); // echo reply
        p.putShort(headerLength + 2, (short) 0);
        p.putShort(headerLength + 2, (short) checksum(p, headerLength, total - headerLength, 0));
        return true;
    }

    private static boolean ipv6(ByteBuffer p) {
        int payload = p.getShort(4) & 0xffff;
        if (p.get(6) != 58 || 40 + payload > p.limit() || (p.get(40) & 0xff) != 128) {
            return false;
        }
        swap(p, 8, 24, 16);
        p.put(7, (byte) 64);
        p.put(40, (byte) 129); // echo reply
        p.putShort(42, (short) 0);
        long pseudo = sum(p, 8, 32) + payload + 58;
        p.putShort(42, (short) checksum(p, 40, payload, pseudo));
        return true;
    }

    private static void swap(ByteBuffer p, int a, int b, int length) {
        for (int i = 0; i < length; i++) {
            byte t = p.get(a + i);
            p.put(a + i, p.get(b + i));
            p.put(b + i, t);
        }
    }

    /** The Internet checksum (RFC 1071) of {@code length} bytes at {@code offset}, plus {@code initial}. */
    static int checksum(ByteBuffer p, int offset, int length, long initial) {
        long sum = initial + sum(p, offset, length);
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static long sum(ByteBuffer p, int offset, int length) {
        long sum = 0;
        for (int i = 0; i + 1 < length; i += 2) {
            sum += p.getShort(offset + i) & 0xffff;
        }
        if ((length & 1) != 0) {
            sum += (p.get(offset + length - 1) & 0xff) << 8;
        }
        return sum;
    }
}
