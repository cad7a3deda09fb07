package org.postern.vpn.packet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits an IPv4 packet too large for the tunnel into fragments that fit (RFC 791 §3.2), as a
 * router does on a narrower link: the gateway is the router between the admin network (MTU 1500)
 * and the tunnel. Only where a router may: IPv4, DF clear. A packet with DF set gets the ICMP
 * "fragmentation needed" answer instead, and IPv6 is never fragmented on the way (RFC 8200 §5).
 *
 * <p>A packet with IPv4 options is not fragmented here (which options to copy into the later
 * fragments is left out on purpose: such packets are rare and the gateway refuses them from the
 * device too); the caller answers it as too big.
 */
public final class Fragmenter {
    private Fragmenter() {
    }

    /** Whether {@link #fragment} may split this packet: IPv4, DF clear, no options. */
    public static boolean mayFragment(IpPacket p) {
        return p.ipVersion() == 4 && !p.dontFragment() && !p.hasIpv4Options();
    }

    /**
     * The fragments of {@code packet} ({@code p} its parse), each at most {@code mtu} bytes, in
     * order; new buffers the caller owns, {@code packet} left as it was. A packet that is itself a
     * fragment is split further: offsets continue from its own, and only its last piece keeps its
     * MF flag.
     *
     * @throws IllegalArgumentException when {@link #mayFragment} is false or the MTU cannot carry
     *     8 payload bytes past the header (RFC 791's minimum is 68)
     */
    public static List<ByteBuf> fragment(ByteBuf packet, IpPacket p, int mtu, ByteBufAllocator alloc) {
        if (!mayFragment(p)) {
            throw new IllegalArgumentException("expected an IPv4 packet without DF and options, found "
                    + (p.ipVersion() != 4 ? "IPv6" : p.dontFragment() ? "DF set" : "IPv4 options"));
        }
        int header = p.headerLength();
        int step = (mtu - header) & ~7;
        if (step < 8) {
            throw new IllegalArgumentException("expected an MTU of at least " + (header + 8) + ", found " + mtu);
        }
        int start = packet.readerIndex();
        int payload = p.length() - header;
        int baseOffset = p.fragmentOffset();
        List<ByteBuf> out = new ArrayList<>(payload / step + 1);
        try {
            for (int at = 0; at < payload; at += step) {
                int size = Math.min(step, payload - at);
                boolean last = at + size == payload;
                ByteBuf f = alloc.buffer(header + size);
                out.add(f);
                f.writeBytes(packet, start, header).writeBytes(packet, start + header + at, size);
                f.setShort(2, header + size);
                int more = !last || p.moreFragments() ? 0x2000 : 0;
                f.setShort(6, more | ((baseOffset + at) / 8));
                f.setShort(10, 0);
                f.setShort(10, InternetChecksum.compute(f, 0, header));
            }
            return out;
        } catch (RuntimeException e) {
            out.forEach(ByteBuf::release);
            throw e;
        }
    }
}
