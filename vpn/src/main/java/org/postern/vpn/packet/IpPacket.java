package org.postern.vpn.packet;

import io.netty.buffer.ByteBuf;
import java.net.InetAddress;
import org.jspecify.annotations.Nullable;

/**
 * A reusable, zero-copy view of one IPv4 or IPv6 packet's headers. {@link #parse} reads the
 * packet where it lies in its buffer (from the reader index, which it does not move) and keeps only
 * numbers: addresses as two longs each (IPv4 in its IPv4-mapped form ::ffff:a.b.c.d), ports, flags.
 * One instance per event loop serves every packet without allocating.
 *
 * <p>Length rule: the IP length (IPv4 Total Length, IPv6 40 + Payload Length) must fit in the
 * readable bytes, or the packet is {@link Malformed#TRUNCATED}; bytes after it are ignored, as a
 * Linux receiver trims them, and {@link #length()} tells the caller where the packet ends.
 *
 * <p>Transport fields ({@link #sourcePort()}, {@link #tcpFlags()}, {@link #icmpType()} …) exist only
 * when {@link #hasTransportHeader()}: not for a fragment other than the first, nor for protocols
 * other than TCP, UDP, ICMP and ICMPv6. A first fragment or an unfragmented packet whose TCP, UDP or
 * ICMP header is cut short is {@link Malformed#TRUNCATED} (the tiny-fragment attack of RFC 1858).
 */
public final class IpPacket {
    public static final int ICMP = 1;
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int ICMPV6 = 58;

    public static final int TCP_FIN = 0x01;
    public static final int TCP_SYN = 0x02;
    public static final int TCP_RST = 0x04;
    public static final int TCP_ACK = 0x10;

    /** IPv4-mapped prefix in the low long: ::ffff:0:0/96. */
    static final long V4_MAPPED = 0xFFFF_0000_0000L;

    private static final int IPV6_HEADER = 40;
    private static final int MAX_EXTENSION_HEADERS = 8;

    private @Nullable Malformed malformed;
    private int ipVersion;
    private int headerLength;
    private int length;
    private int protocol;
    private long sourceHigh;
    private long sourceLow;
    private long destinationHigh;
    private long destinationLow;
    private boolean fragment;
    private boolean moreFragments;
    private boolean dontFragment;
    private long identification;
    private int fragmentHeaderOffset;
    private int fragmentLinkOffset;
    private int fragmentOffset;
    private boolean ipv4Options;
    private boolean transport;
    private int sourcePort;
    private int destinationPort;
    private int tcpFlags;
    private int icmpType;
    private int icmpCode;
    private int icmpEchoId;

    /**
     * Parses the packet at {@code buf}'s reader index. Returns true when the headers are well formed;
     * otherwise {@link #malformed()} says why and the other accessors are meaningless.
     */
    public boolean parse(ByteBuf buf) {
        reset();
        int start = buf.readerIndex();
        int readable = buf.readableBytes();
        if (readable < 1) {
            return fail(Malformed.TRUNCATED);
        }
        ipVersion = buf.getUnsignedByte(start) >>> 4;
        return switch (ipVersion) {
            case 4 -> parseIpv4(buf, start, readable);
            case 6 -> parseIpv6(buf, start, readable);
            default -> fail(Malformed.BAD_VERSION);
        };
    }

    private boolean parseIpv4(ByteBuf buf, int start, int readable) {
        if (readable < 20) {
            return fail(Malformed.TRUNCATED);
        }
        headerLength = (buf.getUnsignedByte(start) & 0x0F) * 4;
        if (headerLength < 20) {
            return fail(Malformed.BAD_HEADER_LENGTH);
        }
        length = buf.getUnsignedShort(start + 2);
        if (length < headerLength) {
            return fail(Malformed.BAD_TOTAL_LENGTH);
        }
        if (length > readable) {
            return fail(Malformed.TRUNCATED);
        }
        if (!InternetChecksum.verify(buf, start, headerLength)) {
            return fail(Malformed.BAD_HEADER_CHECKSUM);
        }
        ipv4Options = headerLength > 20;
        int flagsAndOffset = buf.getUnsignedShort(start + 6);
        fragmentOffset = (flagsAndOffset & 0x1FFF) * 8;
        moreFragments = (flagsAndOffset & 0x2000) != 0;
        dontFragment = (flagsAndOffset & 0x4000) != 0;
        fragment = moreFragments || fragmentOffset != 0;
        identification = buf.getUnsignedShort(start + 4);
        protocol = buf.getUnsignedByte(start + 9);
        sourceLow = V4_MAPPED | buf.getUnsignedInt(start + 12);
        destinationLow = V4_MAPPED | buf.getUnsignedInt(start + 16);
        return fragmentOffset != 0 || parseTransport(buf, start + headerLength, length - headerLength);
    }

    private boolean parseIpv6(ByteBuf buf, int start, int readable) {
        if (readable < IPV6_HEADER) {
            return fail(Malformed.TRUNCATED);
        }
        length = IPV6_HEADER + buf.getUnsignedShort(start + 4);
        if (length > readable) {
            return fail(Malformed.TRUNCATED);
        }
        sourceHigh = buf.getLong(start + 8);
        sourceLow = buf.getLong(start + 16);
        destinationHigh = buf.getLong(start + 24);
        destinationLow = buf.getLong(start + 32);
        int next = buf.getUnsignedByte(start + 6);
        int link = 6; // where the next-header byte naming the current header lies
        int offset = IPV6_HEADER;
        for (int headers = 0; ; headers++) {
            if (headers > MAX_EXTENSION_HEADERS) {
                return fail(Malformed.EXTENSION_CHAIN_TOO_LONG);
            }
            if (next == 0 || next == 43 || next == 60) { // hop-by-hop, routing, destination options
                if (length - offset < 8) {
                    return fail(Malformed.TRUNCATED);
                }
                int size = (buf.getUnsignedByte(start + offset + 1) + 1) * 8;
                next = buf.getUnsignedByte(start + offset);
                link = offset;
                offset += size;
                if (offset > length) {
                    return fail(Malformed.TRUNCATED);
                }
            } else if (next == 44) { // fragment header, always 8 bytes
                if (length - offset < 8) {
                    return fail(Malformed.TRUNCATED);
                }
                int offsetAndFlags = buf.getUnsignedShort(start + offset + 2);
                fragmentOffset = offsetAndFlags & 0xFFF8;
                moreFragments = (offsetAndFlags & 1) != 0;
                fragment = moreFragments || fragmentOffset != 0;
                identification = buf.getUnsignedInt(start + offset + 4);
                fragmentHeaderOffset = offset;
                fragmentLinkOffset = link;
                next = buf.getUnsignedByte(start + offset);
                link = offset;
                offset += 8;
            } else {
                break;
            }
        }
        protocol = next;
        headerLength = offset;
        return fragmentOffset != 0 || parseTransport(buf, start + offset, length - offset);
    }

    private boolean parseTransport(ByteBuf buf, int at, int available) {
        switch (protocol) {
            case TCP -> {
                if (available < 20) {
                    return fail(Malformed.TRUNCATED);
                }
                sourcePort = buf.getUnsignedShort(at);
                destinationPort = buf.getUnsignedShort(at + 2);
                tcpFlags = buf.getUnsignedByte(at + 13);
            }
            case UDP -> {
                if (available < 8) {
                    return fail(Malformed.TRUNCATED);
                }
                sourcePort = buf.getUnsignedShort(at);
                destinationPort = buf.getUnsignedShort(at + 2);
            }
            case ICMP, ICMPV6 -> {
                if ((protocol == ICMP) != (ipVersion == 4)) {
                    return true; // ICMP of the other family: carried, but opaque
                }
                if (available < 8) {
                    return fail(Malformed.TRUNCATED);
                }
                icmpType = buf.getUnsignedByte(at);
                icmpCode = buf.getUnsignedByte(at + 1);
                if (isEchoType()) {
                    icmpEchoId = buf.getUnsignedShort(at + 4);
                    sourcePort = icmpEchoId;
                    destinationPort = icmpEchoId;
                }
            }
            default -> {
                return true;
            }
        }
        transport = true;
        return true;
    }

    private boolean isEchoType() {
        return ipVersion == 4 ? icmpType == 0 || icmpType == 8 : icmpType == 128 || icmpType == 129;
    }

    private boolean fail(Malformed reason) {
        malformed = reason;
        return false;
    }

    private void reset() {
        malformed = null;
        ipVersion = headerLength = length = protocol = 0;
        sourceHigh = sourceLow = destinationHigh = destinationLow = 0;
        fragment = moreFragments = dontFragment = ipv4Options = transport = false;
        identification = 0;
        fragmentHeaderOffset = fragmentLinkOffset = 0;
        fragmentOffset = sourcePort = destinationPort = tcpFlags = icmpType = icmpCode = 0;
        icmpEchoId = -1;
    }

    /** Why the last {@link #parse} failed, or null when it succeeded. */
    public @Nullable Malformed malformed() {
        return malformed;
    }

    /** 4 or 6. */
    public int ipVersion() {
        return ipVersion;
    }

    /** Bytes from the start of the packet to the transport header (IPv6: after the extension headers). */
    public int headerLength() {
        return headerLength;
    }

    /** The IP length: bytes from the start of the packet to its end (trailing bytes excluded). */
    public int length() {
        return length;
    }

    /** The upper-layer protocol number (for IPv6, the one after the extension headers). */
    public int protocol() {
        return protocol;
    }

    public long sourceHigh() {
        return sourceHigh;
    }

    public long sourceLow() {
        return sourceLow;
    }

    public long destinationHigh() {
        return destinationHigh;
    }

    public long destinationLow() {
        return destinationLow;
    }

    /** The source address; allocates, so for audit and logs, not per packet. */
    public InetAddress source() {
        return Addresses.toInetAddress(ipVersion, sourceHigh, sourceLow);
    }

    /** The destination address; allocates, so for audit and logs, not per packet. */
    public InetAddress destination() {
        return Addresses.toInetAddress(ipVersion, destinationHigh, destinationLow);
    }

    /** Whether this is a fragment (IPv4 MF or offset; IPv6 fragment header with M or offset). */
    public boolean isFragment() {
        return fragment;
    }

    /** The fragment's offset in bytes; 0 for an unfragmented packet and for a first fragment. */
    public int fragmentOffset() {
        return fragmentOffset;
    }

    /** Whether more fragments follow this one (IPv4 MF, IPv6 M); false for an unfragmented packet. */
    public boolean moreFragments() {
        return moreFragments;
    }

    /** Whether IPv4's DF (don't fragment) flag is set; false for IPv6, which routers never fragment anyway. */
    public boolean dontFragment() {
        return dontFragment;
    }

    /**
     * The datagram's identification: IPv4's 16-bit field (meaningful for fragments only), IPv6's
     * 32-bit one from the Fragment header (0 without one).
     */
    public long identification() {
        return identification;
    }

    /**
     * For IPv6, where the Fragment header starts (the end of the unfragmentable part); 0 without
     * one, and always 0 for IPv4.
     */
    public int fragmentHeaderOffset() {
        return fragmentHeaderOffset;
    }

    /**
     * For IPv6 with a Fragment header, where the next-header byte that names it lies: 6 in the
     * fixed header, or the first byte of the extension header before it. 0 otherwise.
     */
    public int fragmentLinkOffset() {
        return fragmentLinkOffset;
    }

    /** Whether the IPv4 header carries options (IHL above 5). */
    public boolean hasIpv4Options() {
        return ipv4Options;
    }

    /** Whether the ports, TCP flags or ICMP fields below were read. */
    public boolean hasTransportHeader() {
        return transport;
    }

    /** TCP/UDP source port, or the ICMP echo identifier; 0 when there is none. */
    public int sourcePort() {
        return sourcePort;
    }

    /** TCP/UDP destination port, or the ICMP echo identifier; 0 when there is none. */
    public int destinationPort() {
        return destinationPort;
    }

    /** The TCP flags byte ({@link #TCP_SYN} …); 0 when not TCP. */
    public int tcpFlags() {
        return tcpFlags;
    }

    public boolean isSyn() {
        return (tcpFlags & TCP_SYN) != 0;
    }

    public boolean isFin() {
        return (tcpFlags & TCP_FIN) != 0;
    }

    public boolean isRst() {
        return (tcpFlags & TCP_RST) != 0;
    }

    public boolean isAck() {
        return (tcpFlags & TCP_ACK) != 0;
    }

    /** Whether this is ICMP for IPv4 or ICMPv6 for IPv6 with its header read. */
    public boolean isIcmp() {
        return transport && (protocol == ICMP || protocol == ICMPV6);
    }

    public int icmpType() {
        return icmpType;
    }

    public int icmpCode() {
        return icmpCode;
    }

    /** The echo request/reply identifier, or -1 when this is not an echo. */
    public int icmpEchoId() {
        return icmpEchoId;
    }

    /**
     * Whether this is an ICMP error message (or an ICMP type not known to be a query), which no
     * ICMP error may answer (RFC 1812 §4.3.2.7, RFC 4443 §2.4(e)). ICMPv6 errors are types 0-127;
     * for IPv4 only echo, timestamp, information and address-mask messages count as queries.
     */
    public boolean isIcmpError() {
        if (!isIcmp()) {
            return false;
        }
        if (ipVersion == 6) {
            return icmpType < 128;
        }
        return switch (icmpType) {
            case 0, 8, 13, 14, 15, 16, 17, 18 -> false;
            default -> true;
        };
    }

    /** The flow key as the device sees it, for a packet the device sent. */
    public FiveTuple flowKey() {
        return new FiveTuple(ipVersion, protocol, sourceHigh, sourceLow, sourcePort,
                destinationHigh, destinationLow, destinationPort);
    }

    /** The flow key as the device sees it, for a packet sent to the device (the reverse of this packet). */
    public FiveTuple replyFlowKey() {
        return new FiveTuple(ipVersion, protocol, destinationHigh, destinationLow, destinationPort,
                sourceHigh, sourceLow, sourcePort);
    }
}
