package org.postern.vpn.capsule;

import io.netty.buffer.ByteBuf;

/**
 * QUIC variable-length integers (RFC 9000 §16): the two high bits of the first byte give the length
 * (1, 2, 4 or 8 bytes), the rest is the value in network byte order, so values go up to 2^62-1.
 * Capsule types and lengths, quarter stream ids and context ids all use this encoding.
 */
public final class QuicVarint {
    /** The largest value a varint can hold, 2^62-1. */
    public static final long MAX_VALUE = (1L << 62) - 1;

    private QuicVarint() {
    }

    /** The number of bytes the varint that starts with {@code firstByte} occupies: 1, 2, 4 or 8. */
    public static int lengthOf(byte firstByte) {
        return 1 << ((firstByte & 0xC0) >>> 6);
    }

    /** The number of bytes {@link #write} uses for {@code value}. */
    public static int encodedLength(long value) {
        checkRange(value);
        if (value < (1L << 6)) {
            return 1;
        }
        if (value < (1L << 14)) {
            return 2;
        }
        return value < (1L << 30) ? 4 : 8;
    }

    /**
     * The varint at {@code index}, or -1 when the buffer's readable bytes end before it does; the
     * reader index does not move. This is what an incremental decoder asks before it commits.
     */
    public static long peek(ByteBuf in, int index) {
        if (index >= in.writerIndex()) {
            return -1;
        }
        byte first = in.getByte(index);
        int length = lengthOf(first);
        if (in.writerIndex() - index < length) {
            return -1;
        }
        return switch (length) {
            case 1 -> first & 0x3F;
            case 2 -> in.getShort(index) & 0x3FFF;
            case 4 -> in.getInt(index) & 0x3FFF_FFFFL;
            default -> in.getLong(index) & MAX_VALUE;
        };
    }

    /**
     * Reads a varint and moves the reader index past it.
     *
     * @throws CapsuleException when the readable bytes end inside the varint
     */
    public static long read(ByteBuf in, String field) {
        long value = peek(in, in.readerIndex());
        if (value < 0) {
            int needed = in.isReadable() ? lengthOf(in.getByte(in.readerIndex())) : 1;
            throw new CapsuleException(field + ": expected a " + needed + "-byte varint, found "
                    + in.readableBytes() + " byte(s)");
        }
        in.skipBytes(lengthOf(in.getByte(in.readerIndex())));
        return value;
    }

    /**
     * Writes {@code value} in the shortest encoding.
     *
     * @throws IllegalArgumentException when the value is negative or above {@link #MAX_VALUE}
     */
    public static void write(ByteBuf out, long value) {
        switch (encodedLength(value)) {
            case 1 -> out.writeByte((int) value);
            case 2 -> out.writeShort((int) value | 0x4000);
            case 4 -> out.writeInt((int) value | 0x8000_0000);
            default -> out.writeLong(value | 0xC000_0000_0000_0000L);
        }
    }

    /** Writes {@code value} at {@code index} in the shortest encoding; returns the bytes written. */
    public static int set(ByteBuf out, int index, long value) {
        int length = encodedLength(value);
        switch (length) {
            case 1 -> out.setByte(index, (int) value);
            case 2 -> out.setShort(index, (int) value | 0x4000);
            case 4 -> out.setInt(index, (int) value | 0x8000_0000);
            default -> out.setLong(index, value | 0xC000_0000_0000_0000L);
        }
        return length;
    }

    private static void checkRange(long value) {
        if (value < 0 || value > MAX_VALUE) {
            throw new IllegalArgumentException(
                    "varint: expected a value from 0 to 2^62-1, found " + Long.toUnsignedString(value));
        }
    }
}
