package org.postern.vpn.capsule;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * HTTP datagram framing for CONNECT-IP. Over HTTP/3 a QUIC DATAGRAM frame's payload is the Quarter
 * Stream ID (the request stream id divided by 4, RFC 9297 §2.1) followed by the HTTP datagram
 * payload; over HTTP/2 the payload travels in a DATAGRAM capsule. Either way, CONNECT-IP's payload
 * starts with a Context ID (RFC 9484 §6): 0 means a full IP packet follows. Postern registers no
 * other context id, so any other value is unknown: the receiver drops the datagram and counts it.
 */
public final class HttpDatagrams {
    /** The context id of a datagram that carries one full IP packet. */
    public static final long IP_PACKET_CONTEXT_ID = 0;

    private HttpDatagrams() {
    }

    /**
     * The Quarter Stream ID of a request stream.
     *
     * @throws IllegalArgumentException when the stream is not client-initiated bidirectional
     */
    public static long quarterStreamId(long streamId) {
        if (streamId < 0 || (streamId & 3) != 0) {
            throw new IllegalArgumentException(
                    "stream id: expected a client-initiated bidirectional stream (a multiple of 4), found " + streamId);
        }
        return streamId >>> 2;
    }

    /** The request stream id a Quarter Stream ID names. */
    public static long streamId(long quarterStreamId) {
        if (quarterStreamId < 0 || quarterStreamId > QuicVarint.MAX_VALUE >>> 2) {
            throw new CapsuleException("quarter stream id: expected 0 to 2^60-1, found " + quarterStreamId);
        }
        return quarterStreamId << 2;
    }

    /**
     * Reads the Quarter Stream ID at the start of an HTTP/3 datagram; the reader index then sits on
     * the HTTP datagram payload. A value beyond 2^60-1 is an H3_DATAGRAM_ERROR (RFC 9297 §2.1).
     */
    public static long readQuarterStreamId(ByteBuf datagram) {
        long quarter = QuicVarint.read(datagram, "HTTP/3 datagram quarter stream id");
        if (quarter > QuicVarint.MAX_VALUE >>> 2) {
            throw new CapsuleException("HTTP/3 datagram quarter stream id: expected at most 2^60-1, found " + quarter);
        }
        return quarter;
    }

    /**
     * Reads the Context ID at the start of an HTTP datagram payload; the reader index then sits on
     * the data. {@link #IP_PACKET_CONTEXT_ID} means the data is one IP packet; any other value is
     * unknown to Postern: drop the datagram and count it (RFC 9484 §6 allows no other reaction).
     */
    public static long readContextId(ByteBuf payload) {
        return QuicVarint.read(payload, "CONNECT-IP context id");
    }

    /**
     * The HTTP datagram payload of one IP packet: context id 0 in front of it, in its headroom when
     * nobody else can see those bytes, else as a small composite; the packet is not copied. Takes
     * ownership of {@code ipPacket}.
     */
    public static ByteBuf ipPacketPayload(ByteBuf ipPacket, ByteBufAllocator alloc) {
        ByteBuf out = Headroom.prepend(ipPacket, 1, alloc);
        return out.setByte(out.readerIndex(), (int) IP_PACKET_CONTEXT_ID);
    }

    /**
     * The HTTP/3 datagram (QUIC DATAGRAM frame payload) that carries one IP packet on the request
     * stream {@code quarterStreamId}. Takes ownership of {@code ipPacket}; its headroom takes the
     * header when the buffer is unshared and has room, otherwise a composite buffer does.
     */
    public static ByteBuf http3IpPacket(ByteBuf ipPacket, long quarterStreamId, ByteBufAllocator alloc) {
        int header = QuicVarint.encodedLength(quarterStreamId) + 1;
        ByteBuf out = Headroom.prepend(ipPacket, header, alloc);
        int index = out.readerIndex();
        index += QuicVarint.set(out, index, quarterStreamId);
        out.setByte(index, (int) IP_PACKET_CONTEXT_ID);
        return out;
    }

    /** The bytes {@link #http3IpPacket} puts before the packet: reserve this much headroom to avoid a composite. */
    public static int http3Overhead(long quarterStreamId) {
        return QuicVarint.encodedLength(quarterStreamId) + 1;
    }
}
