package org.postern.vpn.transport;

import io.netty.buffer.ByteBuf;

/**
 * The HTTP/3 datagram prefix (RFC 9297 §2.1): a QUIC variable-length integer (RFC 9000 §16)
 * holding the request stream's id divided by four, before the payload of every QUIC DATAGRAM.
 */
public final class HttpDatagrams {
    /** The largest value a QUIC variable-length integer holds (2^62 - 1). */
    static final long MAX_VARINT = (1L << 62) - 1;

    private HttpDatagrams() {}

    /** The quarter stream id of a client-initiated bidirectional stream (its id / 4). */
    public static long quarterStreamId(long streamId) {
        if (streamId < 0 || (streamId & 3) != 0) {
            throw new IllegalArgumentException("expected the id of a client-initiated bidirectional stream (a multiple of 4), found "
                    + streamId);
        }
        return streamId >>> 2;
    }

    /** How many bytes {@code value} takes as a variable-length integer: 1, 2, 4 or 8. */
    public static int varintLength(long value) {
        if (value < 0 || value > MAX_VARINT) {
            throw new IllegalArgumentException("expected a QUIC varint value 0.." + MAX_VARINT + ", found " + value);
        }
        return value < 64 ? 1 : value < 16_384 ? 2 : value < 1_073_741_824 ? 4 : 8;
    }

    /** Writes {@code value} as a variable-length integer. */
    public static void writeVarint(ByteBuf out, long value) {
        switch (varintLength(value)) {
            case 1 -> out.writeByte((int) value);
            case 2 -> out.writeShort((int) value | 0x4000);
            case 4 -> out.writeInt((int) value | 0x8000_0000);
            default -> out.writeLong(value | 0xC000_0000_0000_0000L);
        }
    }

    /**
     * Reads a variable-length integer, or returns -1 (reading nothing) when {@code in} is too short
     * for the length its first byte announces.
     */
    public static long readVarint(ByteBuf in) {
        if (!in.isReadable()) {
            return -1;
        }
        int first = in.getUnsignedByte(in.readerIndex());
        int length = 1 << (first >>> 6);
        if (in.readableBytes() < length) {
            return -1;
        }
        return switch (length) {
            case 1 -> in.readUnsignedByte();
            case 2 -> in.readUnsignedShort() & 0x3FFF;
            case 4 -> in.readUnsignedInt() & 0x3FFF_FFFFL;
            default -> in.readLong() & 0x3FFF_FFFF_FFFF_FFFFL;
        };
    }
}
