package org.postern.vpn.packet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.InetAddress;
import org.jspecify.annotations.Nullable;

/**
 * The ICMP errors the gateway sends back into the tunnel about a packet it will not forward:
 * "communication administratively prohibited" for a denied flow and "packet too big" for path MTU
 * discovery. Each answer quotes the offending packet as the RFCs ask (IPv4: as much as fits in 576
 * bytes, RFC 1812 §4.3.2.3, at least the header and 8 bytes; IPv6: as much as fits in 1280 bytes,
 * RFC 4443 §2.4(c)) and carries correct checksums.
 *
 * <p>No answer (null) where RFC 1812 §4.3.2.7 and RFC 4443 §2.4(e) forbid one: about an ICMP error,
 * about a fragment other than the first, about a packet to a multicast or broadcast address (a
 * directed broadcast of an admin subnet is not known here), or from a source that names no single
 * host (unspecified, loopback, multicast, broadcast, class E).
 */
public final class IcmpAnswers {
    private static final int IPV4_ANSWER_MAX = 576;
    private static final int IPV6_ANSWER_MAX = 1280;
    private static final int TTL = 64;

    private IcmpAnswers() {
    }

    /**
     * ICMP type 3 code 13 (IPv4) or ICMPv6 type 1 code 1 (IPv6) about {@code packet}, from
     * {@code from} (the gateway's own address of the packet's family), or null when none may be sent.
     *
     * @param packet the offending packet at its reader index (not moved)
     * @param parsed the successful {@link IpPacket#parse} of {@code packet}
     */
    public static @Nullable ByteBuf administrativelyProhibited(ByteBuf packet, IpPacket parsed, InetAddress from,
            ByteBufAllocator alloc) {
        if (!mayAnswer(parsed, false)) {
            return null;
        }
        return parsed.ipVersion() == 4
                ? ipv4(packet, parsed, from, 3, 13, 0, alloc)
                : ipv6(packet, parsed, from, 1, 1, 0, alloc);
    }

    /**
     * ICMP type 3 code 4 "fragmentation needed" with the next-hop MTU (IPv4, RFC 1191) or ICMPv6
     * type 2 "packet too big" (IPv6, RFC 4443 §3.2, which may answer a multicast destination) about
     * {@code packet}, or null when none may be sent.
     */
    public static @Nullable ByteBuf packetTooBig(ByteBuf packet, IpPacket parsed, InetAddress from, int mtu,
            ByteBufAllocator alloc) {
        if (!mayAnswer(parsed, parsed.ipVersion() == 6)) {
            return null;
        }
        if (parsed.ipVersion() == 4) {
            if (mtu < 68 || mtu > 0xFFFF) {
                throw new IllegalArgumentException("IPv4 next-hop MTU: expected 68 to 65535, found " + mtu);
            }
            return ipv4(packet, parsed, from, 3, 4, mtu, alloc);
        }
        if (mtu < 1280) {
            throw new IllegalArgumentException("IPv6 MTU: expected at least 1280, found " + mtu);
        }
        return ipv6(packet, parsed, from, 2, 0, mtu, alloc);
    }

    /** Whether RFC 1812 §4.3.2.7 / RFC 4443 §2.4(e) allow an ICMP error about this packet. */
    public static boolean mayAnswer(IpPacket parsed, boolean multicastAllowed) {
        if (parsed.malformed() != null || parsed.isIcmpError() || parsed.fragmentOffset() != 0) {
            return false;
        }
        if (parsed.ipVersion() == 4) {
            int source = (int) parsed.sourceLow();
            int destination = (int) parsed.destinationLow();
            int sourceFirst = source >>> 24;
            return sourceFirst != 0 && sourceFirst != 127 && sourceFirst < 224 && destination != -1
                    && (destination >>> 24) < 224;
        }
        boolean sourceMulticast = (parsed.sourceHigh() >>> 56) == 0xFF;
        boolean sourceUnspecifiedOrLoopback = parsed.sourceHigh() == 0 && (parsed.sourceLow() >>> 1) == 0;
        boolean destinationMulticast = (parsed.destinationHigh() >>> 56) == 0xFF;
        return !sourceMulticast && !sourceUnspecifiedOrLoopback && (multicastAllowed || !destinationMulticast);
    }

    private static ByteBuf ipv4(ByteBuf packet, IpPacket parsed, InetAddress from, int type, int code, int mtu,
            ByteBufAllocator alloc) {
        byte[] source = requireFamily(from, 4);
        int quote = Math.min(parsed.length(), IPV4_ANSWER_MAX - 20 - 8);
        int total = 20 + 8 + quote;
        ByteBuf out = alloc.buffer(total);
        out.writeByte(0x45);
        out.writeByte(0xC0); // precedence "internetwork control", as routers mark their ICMP
        out.writeShort(total);
        out.writeInt(0); // identification 0, no fragment flags: 576 bytes cross any IPv4 link
        out.writeByte(TTL);
        out.writeByte(IpPacket.ICMP);
        out.writeShort(0);
        out.writeBytes(source);
        out.writeInt((int) parsed.sourceLow());
        out.setShort(10, InternetChecksum.compute(out, 0, 20));
        out.writeByte(type);
        out.writeByte(code);
        out.writeShort(0);
        out.writeShort(0);
        out.writeShort(mtu);
        out.writeBytes(packet, packet.readerIndex(), quote);
        out.setShort(22, InternetChecksum.compute(out, 20, 8 + quote));
        return out;
    }

    private static ByteBuf ipv6(ByteBuf packet, IpPacket parsed, InetAddress from, int type, int code, int mtu,
            ByteBufAllocator alloc) {
        byte[] source = requireFamily(from, 6);
        int quote = Math.min(parsed.length(), IPV6_ANSWER_MAX - 40 - 8);
        int icmpLength = 8 + quote;
        ByteBuf out = alloc.buffer(40 + icmpLength);
        out.writeInt(0x6000_0000);
        out.writeShort(icmpLength);
        out.writeByte(IpPacket.ICMPV6);
        out.writeByte(TTL);
        out.writeBytes(source);
        out.writeLong(parsed.sourceHigh());
        out.writeLong(parsed.sourceLow());
        out.writeByte(type);
        out.writeByte(code);
        out.writeShort(0);
        out.writeInt(mtu);
        out.writeBytes(packet, packet.readerIndex(), quote);
        // RFC 4443 §2.3: the checksum covers the RFC 8200 §8.1 pseudo-header: both addresses,
        // the upper-layer length and the next header.
        long sum = InternetChecksum.add(0, out, 8, 32);
        sum += icmpLength + IpPacket.ICMPV6;
        sum = InternetChecksum.add(sum, out, 40, icmpLength);
        out.setShort(42, InternetChecksum.finish(sum));
        return out;
    }

    private static byte[] requireFamily(InetAddress from, int ipVersion) {
        byte[] bytes = from.getAddress();
        if (bytes.length != (ipVersion == 4 ? 4 : 16)) {
            throw new IllegalArgumentException("answer source: expected an IPv" + ipVersion + " address, found "
                    + from.getHostAddress());
        }
        return bytes;
    }
}
