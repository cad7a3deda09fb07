package org.postern.vpn.capsule;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Turns the bytes of a CONNECT-IP request stream (HTTP/2 or HTTP/3 DATA frames, cut anywhere) into
 * capsules. Bytes that complete no capsule are kept until the next call; a DATAGRAM capsule's payload
 * is a retained slice of the bytes received, never a copy, unless the capsule straddled two calls
 * (then its bytes were gathered once).
 *
 * <p>One decoder per stream, used from that stream's event loop only. After a {@link
 * CapsuleException} the decoder is spent: RFC 9297 §3.3 makes the whole stream malformed.
 */
public final class CapsuleDecoder implements AutoCloseable {
    /**
     * The bound both ends of a CONNECT-IP stream use: room for a DATAGRAM capsule of any packet and
     * for a ROUTE_ADVERTISEMENT of a few thousand ranges (10 bytes per IPv4 range, 34 per IPv6 one).
     */
    public static final int MAX_CONNECT_IP_CAPSULE = 64 * 1024;

    private final ByteBufAllocator alloc;
    private final int maxCapsuleLength;
    private @Nullable ByteBuf cumulation;
    private boolean failed;

    /**
     * @param maxCapsuleLength the largest Length field accepted, in bytes (a DATAGRAM capsule of one
     *     IP packet needs the tunnel MTU plus one byte of context id)
     */
    public CapsuleDecoder(ByteBufAllocator alloc, int maxCapsuleLength) {
        if (maxCapsuleLength < 1) {
            throw new IllegalArgumentException("maxCapsuleLength: expected at least 1, found " + maxCapsuleLength);
        }
        this.alloc = alloc;
        this.maxCapsuleLength = maxCapsuleLength;
    }

    /**
     * Decodes every capsule that {@code in} completes and hands each to {@code out}, in order.
     * Takes ownership of {@code in} (releases it). The consumer owns each capsule it receives; for a
     * {@link Capsule.Datagram} that means releasing it.
     *
     * @throws CapsuleException when the stream breaks RFC 9297 or RFC 9484 (abort the stream)
     */
    public void decode(ByteBuf in, Consumer<? super Capsule> out) {
        if (failed) {
            in.release();
            throw new IllegalStateException("capsule stream already failed; it must be aborted");
        }
        ByteBuf buf = in;
        if (cumulation != null) {
            append(in);
            buf = cumulation;
        }
        int needed = 0;
        boolean ok = false;
        try {
            needed = decodeAvailable(buf, out);
            ok = true;
        } finally {
            if (ok) {
                keepRest(buf, in, needed);
            } else {
                failed = true;
                if (buf == in) {
                    in.release();
                }
                close();
            }
        }
    }

    /** Bytes received that do not yet complete a capsule. */
    public int bufferedBytes() {
        return cumulation == null ? 0 : cumulation.readableBytes();
    }

    /** Releases the bytes held for an incomplete capsule; call when the stream ends. */
    @Override
    public void close() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    /** Decodes whole capsules; returns the bytes the next incomplete one needs in total (0 if unknown). */
    private int decodeAvailable(ByteBuf buf, Consumer<? super Capsule> out) {
        while (buf.isReadable()) {
            int start = buf.readerIndex();
            long type = QuicVarint.peek(buf, start);
            if (type < 0) {
                return 0;
            }
            int typeLength = QuicVarint.lengthOf(buf.getByte(start));
            long length = QuicVarint.peek(buf, start + typeLength);
            if (length < 0) {
                return 0;
            }
            if (length > maxCapsuleLength) {
                throw new CapsuleException("capsule type 0x" + Long.toHexString(type) + ": expected a length of at most "
                        + maxCapsuleLength + " bytes, found " + length);
            }
            int headerLength = typeLength + QuicVarint.lengthOf(buf.getByte(start + typeLength));
            int total = headerLength + (int) length;
            if (buf.readableBytes() < total) {
                return total;
            }
            buf.skipBytes(headerLength);
            out.accept(parse(type, buf, (int) length));
        }
        return 0;
    }

    private static Capsule parse(long type, ByteBuf buf, int length) {
        if (type == Capsule.DATAGRAM) {
            return new Capsule.Datagram(buf.readRetainedSlice(length));
        }
        ByteBuf value = buf.readSlice(length);
        if (type == Capsule.ADDRESS_ASSIGN) {
            return new Capsule.AddressAssign(readEntries(value, "ADDRESS_ASSIGN"));
        }
        if (type == Capsule.ADDRESS_REQUEST) {
            return new Capsule.AddressRequest(readEntries(value, "ADDRESS_REQUEST"));
        }
        if (type == Capsule.ROUTE_ADVERTISEMENT) {
            return new Capsule.RouteAdvertisement(readRanges(value));
        }
        byte[] bytes = new byte[length];
        value.readBytes(bytes);
        return new Capsule.Unknown(type, bytes);
    }

    private static List<AddressEntry> readEntries(ByteBuf value, String capsule) {
        List<AddressEntry> entries = new ArrayList<>();
        while (value.isReadable()) {
            long requestId = QuicVarint.read(value, capsule + " request id");
            InetAddress address = readAddress(value, readVersion(value, capsule), capsule + " IP address");
            need(value, 1, capsule + " IP prefix length");
            entries.add(new AddressEntry(requestId, address, value.readUnsignedByte()));
        }
        return entries;
    }

    private static List<IpAddressRange> readRanges(ByteBuf value) {
        List<IpAddressRange> ranges = new ArrayList<>();
        while (value.isReadable()) {
            int version = readVersion(value, "ROUTE_ADVERTISEMENT");
            InetAddress start = readAddress(value, version, "ROUTE_ADVERTISEMENT start IP address");
            InetAddress end = readAddress(value, version, "ROUTE_ADVERTISEMENT end IP address");
            need(value, 1, "ROUTE_ADVERTISEMENT IP protocol");
            ranges.add(new IpAddressRange(start, end, value.readUnsignedByte()));
        }
        return ranges;
    }

    private static int readVersion(ByteBuf value, String capsule) {
        need(value, 1, capsule + " IP version");
        int version = value.readUnsignedByte();
        if (version != 4 && version != 6) {
            throw new CapsuleException(capsule + " IP version: expected 4 or 6, found " + version);
        }
        return version;
    }

    private static InetAddress readAddress(ByteBuf value, int version, String field) {
        byte[] bytes = new byte[IpBytes.width(version)];
        need(value, bytes.length, field);
        value.readBytes(bytes);
        return IpBytes.toAddress(bytes);
    }

    private static void need(ByteBuf value, int bytes, String field) {
        if (value.readableBytes() < bytes) {
            throw new CapsuleException(field + ": expected " + bytes + " byte(s), found "
                    + value.readableBytes() + " before the capsule ends");
        }
    }

    private void append(ByteBuf in) {
        ByteBuf held = cumulation;
        try {
            if (held.writableBytes() < in.readableBytes()) {
                ByteBuf bigger = alloc.buffer(held.readableBytes() + in.readableBytes());
                bigger.writeBytes(held);
                held.release(); // slices already handed out keep their memory alive
                cumulation = bigger;
            }
            cumulation.writeBytes(in);
        } finally {
            in.release();
        }
    }

    /** Keeps what follows the last whole capsule for the next call, with room for the capsule it starts. */
    private void keepRest(ByteBuf buf, ByteBuf in, int needed) {
        if (buf == in) {
            try {
                if (in.isReadable()) {
                    cumulation = alloc.buffer(Math.max(in.readableBytes(), needed));
                    cumulation.writeBytes(in);
                }
            } finally {
                in.release();
            }
        } else if (!buf.isReadable()) {
            close();
        }
    }
}
