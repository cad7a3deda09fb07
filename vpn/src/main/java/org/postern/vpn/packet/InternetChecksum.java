package org.postern.vpn.packet;

import io.netty.buffer.ByteBuf;

/**
 * The internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
 * words, and its incremental update (RFC 1624) for when a rewrite changes a few words of a packet.
 */
public final class InternetChecksum {
    private InternetChecksum() {
    }

    /**
     * Adds {@code length} bytes at {@code index} to a running sum, 32 bits at a time (RFC 1071
     * §2(B): wider words fold to the same 16-bit sum). An odd last byte is padded with zero.
     */
    public static long add(long sum, ByteBuf buf, int index, int length) {
        int end = index + length;
        int i = index;
        for (; i + 4 <= end; i += 4) {
            sum += buf.getUnsignedInt(i);
        }
        if (i + 2 <= end) {
            sum += buf.getUnsignedShort(i);
            i += 2;
        }
        if (i < end) {
            sum += (buf.getUnsignedByte(i) << 8);
        }
        return sum;
    }

    /** Folds a running sum to 16 bits and complements it: the value that goes into a header. */
    public static int finish(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    /** The checksum of {@code length} bytes at {@code index}. */
    public static int compute(ByteBuf buf, int index, int length) {
        return finish(add(0, buf, index, length));
    }

    /** Whether bytes that include their own checksum field sum to all ones (RFC 1071 §1(3)). */
    public static boolean verify(ByteBuf buf, int index, int length) {
        return compute(buf, index, length) == 0;
    }

    /**
     * The checksum after one 16-bit word changed from {@code oldWord} to {@code newWord}:
     * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), which never yields the 0x0000 of eqn. 2's flaw.
     */
    public static int update16(int checksum, int oldWord, int newWord) {
        long sum = (~checksum & 0xFFFF) + (~oldWord & 0xFFFF) + (newWord & 0xFFFF);
        return finish(sum);
    }

    /** The checksum after a 32-bit field (an IPv4 address) changed, as two {@link #update16} steps. */
    public static int update32(int checksum, int oldValue, int newValue) {
        int high = update16(checksum, oldValue >>> 16, newValue >>> 16);
        return update16(high, oldValue & 0xFFFF, newValue & 0xFFFF);
    }
}
