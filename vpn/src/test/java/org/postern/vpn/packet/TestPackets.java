package org.postern.vpn.packet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.util.HexFormat;

/**
 * Packets written byte by byte from RFC 791 / RFC 8200 / RFC 793 / RFC 768 / RFC 792 layouts, with
 * a checksum computed the slow, obvious way (16-bit words, end-around carry), independent of
 * {@link InternetChecksum}.
 */
final class TestPackets {
    private TestPackets() {
    }

    static byte[] hex(String hex) {
        return HexFormat.of().parseHex(hex.replace(" ", ""));
    }

    static ByteBuf buf(byte[] bytes) {
        return Unpooled.wrappedBuffer(bytes);
    }

    /** RFC 1071 done by hand: add 16-bit big-endian words, fold carries, complement. */
    static int naiveChecksum(byte[] bytes, int from, int length, int initialSum) {
        int sum = initialSum;
        for (int i = 0; i < length; i += 2) {
            int high = bytes[from + i] & 0xFF;
            int low = i + 1 < length ? bytes[from + i + 1] & 0xFF : 0;
            sum += (high << 8) | low;
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return ~sum & 0xFFFF;
    }

    static byte[] addr(String literal) {
        try {
            return InetAddress.getByName(literal).getAddress();
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** 16 bytes even for ::ffff:a.b.c.d, which Java turns into an IPv4 address. */
    static byte[] addr16(String literal) {
        byte[] bytes = addr(literal);
        if (bytes.length == 16) {
            return bytes;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xFF;
        mapped[11] = (byte) 0xFF;
        System.arraycopy(bytes, 0, mapped, 12, 4);
        return mapped;
    }

    /** An IPv4 packet: 20-byte header plus {@code options}, then {@code payload}; valid checksum. */
    static byte[] ipv4(int protocol, String src, String dst, int flagsAndOffset, byte[] options, byte[] payload) {
        int header = 20 + options.length;
        byte[] p = new byte[header + payload.length];
        p[0] = (byte) (0x40 | header / 4);
        p[2] = (byte) (p.length >>> 8);
        p[3] = (byte) p.length;
        p[4] = 0x1c;
        p[5] = 0x46;
        p[6] = (byte) (flagsAndOffset >>> 8);
        p[7] = (byte) flagsAndOffset;
        p[8] = 64;
        p[9] = (byte) protocol;
        System.arraycopy(addr(src), 0, p, 12, 4);
        System.arraycopy(addr(dst), 0, p, 16, 4);
        System.arraycopy(options, 0, p, 20, options.length);
        int checksum = naiveChecksum(p, 0, header, 0);
        p[10] = (byte) (checksum >>> 8);
        p[11] = (byte) checksum;
        System.arraycopy(payload, 0, p, header, payload.length);
        return p;
    }

    /** An IPv6 packet whose first next-header is {@code nextHeader} and whose payload follows. */
    static byte[] ipv6(int nextHeader, String src, String dst, byte[] payload) {
        byte[] p = new byte[40 + payload.length];
        p[0] = 0x60;
        p[4] = (byte) (payload.length >>> 8);
        p[5] = (byte) payload.length;
        p[6] = (byte) nextHeader;
        p[7] = 64;
        System.arraycopy(addr16(src), 0, p, 8, 16);
        System.arraycopy(addr16(dst), 0, p, 24, 16);
        System.arraycopy(payload, 0, p, 40, payload.length);
        return p;
    }

    static byte[] tcp(int srcPort, int dstPort, int flags) {
        byte[] t = new byte[20];
        t[0] = (byte) (srcPort >>> 8);
        t[1] = (byte) srcPort;
        t[2] = (byte) (dstPort >>> 8);
        t[3] = (byte) dstPort;
        t[12] = 0x50; // data offset 5
        t[13] = (byte) flags;
        t[14] = (byte) 0xfa;
        t[15] = (byte) 0xf0;
        return t;
    }

    static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }
}
