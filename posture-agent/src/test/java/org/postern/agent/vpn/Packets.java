package org.postern.agent.vpn;

import java.nio.ByteBuffer;

/** Builds IPv4 ICMP echo requests with correct checksums for the tests. */
final class Packets {
    private Packets() {}

    static byte[] icmpEcho(String from, String to, int payload) {
        int length = 20 + 8 + payload;
        ByteBuffer b = ByteBuffer.allocate(length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) length).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 1).putShort((short) 0)
                .put(VpnEngineTest.ip(from).getAddress()).put(VpnEngineTest.ip(to).getAddress());
        b.putShort(10, checksum(b.array(), 0, 20));
        b.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) 7).putShort((short) 1);
        for (int i = 0; i < payload; i++) {
            b.put((byte) i);
        }
        b.putShort(22, checksum(b.array(), 20, length - 20));
        return b.array();
    }

    /** The echo reply to an IPv4 ICMP echo request: addresses swapped, type 0, ICMP checksum recomputed. */
    static byte[] echoReply(byte[] request) {
        byte[] r = request.clone();
        int ihl = (r[0] & 0x0f) * 4;
        System.arraycopy(request, 16, r, 12, 4);
        System.arraycopy(request, 12, r, 16, 4);
        r[ihl] = 0;
        r[ihl + 2] = 0;
        r[ihl + 3] = 0;
        short sum = checksum(r, ihl, r.length - ihl);
        r[ihl + 2] = (byte) (sum >> 8);
        r[ihl + 3] = (byte) sum;
        return r;
    }

    static boolean isEchoRequest(byte[] p) {
        return p.length > 28 && (p[0] >> 4) == 4 && p[9] == 1 && p[(p[0] & 0x0f) * 4] == 8;
    }

    private static short checksum(byte[] a, int offset, int length) {
        long sum = 0;
        for (int i = 0; i < length; i += 2) {
            int hi = a[offset + i] & 0xff;
            int lo = i + 1 < length ? a[offset + i + 1] & 0xff : 0;
            sum += (hi << 8) | lo;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (short) ~sum;
    }
}
