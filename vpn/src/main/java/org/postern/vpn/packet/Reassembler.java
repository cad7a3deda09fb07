package org.postern.vpn.packet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Reassembles one VPN session's IPv4 and IPv6 fragments into whole datagrams, so the gateway judges and
 * forwards a datagram as a firewall with per-flow policy does (netfilter's defragmentation): the
 * laptop fragments a UDP datagram larger than the tunnel MTU, and only the whole datagram has a
 * five-tuple for the gate.
 *
 * <p>A datagram is keyed by (version, source, destination, protocol, identification) and yields
 * ONE new buffer holding it unfragmented. IPv4: the first fragment's header with MF and offset
 * cleared (DF and the reserved bit too), the total length set and the header checksum recomputed.
 * IPv6: the first fragment's unfragmentable part with its Fragment header removed, the next-header
 * byte that named it now naming what the Fragment header named, the payload length set (RFC 8200
 * §4.5). The protocol is not part of an IPv6 key (RFC 8200 keys on addresses and identification;
 * a later fragment does not show it reliably).
 *
 * <p>Fail closed, every bound dropping the whole datagram and reporting it to the {@link Drops}
 * listener with the fragments it released: at most {@link #MAX_DATAGRAMS} datagrams in progress
 * and {@link #MAX_BUFFERED} bytes held ({@link Reason#LIMIT}); a reassembled size (IPv6: payload length)
 * above 65535 ({@link Reason#LIMIT}); a fragment that overlaps one held, or a second last fragment that
 * disagrees on the end (RFC 5722, RFC 1858's overlap attack: {@link Reason#OVERLAP}); a datagram
 * not complete {@link #TIMEOUT} after its first fragment arrived ({@link Reason#TIMEOUT}); a
 * first fragment too short for its TCP (20), UDP, ICMP or ICMPv6 (8) header (RFC 1858's tiny
 * fragment; IpPacket refuses most of them first), a
 * fragment other than the last whose length is not a multiple of 8, or an empty one
 * ({@link Reason#INVALID}). An exact copy of a fragment held is the network's duplicate: only the
 * copy goes ({@link Reason#DUPLICATE}).
 *
 * <p><b>Not thread-safe</b>: one instance per VPN session, used only on the session's event loop.
 */
public final class Reassembler implements AutoCloseable {

    /** Datagrams in progress at once, per session. */
    public static final int MAX_DATAGRAMS = 64;
    /** Bytes of fragments held at once, per session. */
    public static final int MAX_BUFFERED = 256 * 1024;
    /** How long a datagram may take to complete, from its first fragment to arrive. */
    public static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final int MAX_DATAGRAM = 65535;

    /** Why a datagram (or one fragment of it) was dropped. */
    public enum Reason {
        /** Overlapping fragments, or two last fragments that disagree. */
        OVERLAP,
        /** Not complete within {@link #TIMEOUT}, or still incomplete at {@link #close()}. */
        TIMEOUT,
        /** Too many datagrams in progress, too many bytes held, or larger than 65535 bytes. */
        LIMIT,
        /** A tiny first fragment, a non-last fragment not a multiple of 8, an empty fragment. */
        INVALID,
        /** An exact copy of a fragment already held: only the copy is dropped. */
        DUPLICATE
    }

    /** Told of each drop: the reason and how many fragment packets it released. */
    @FunctionalInterface
    public interface Drops {
        void dropped(Reason reason, int packets);
    }

    private record Key(int version, long sourceHigh, long sourceLow, long destinationHigh, long destinationLow,
                       int protocol, long identification) {
    }

    /** One fragment held: its packet and where its payload lies in it. */
    private record Piece(int start, int end, ByteBuf packet, int payloadIndex) {
    }

    /** A datagram in progress; pieces kept sorted by offset and never overlapping. */
    private static final class Partial {
        final long startedNanos;
        final List<Piece> pieces = new ArrayList<>(2);
        int total = -1;
        int bytes;
        /** From the first fragment: the header (IPv4) or unfragmentable part (IPv6) the datagram keeps. */
        int headerLength;
        int linkOffset;

        Partial(long startedNanos) {
            this.startedNanos = startedNanos;
        }
    }

    private final ByteBufAllocator alloc;
    private final Drops drops;
    private final Map<Key, Partial> partials = new LinkedHashMap<>(); // insertion order = age order
    private int buffered;

    public Reassembler(ByteBufAllocator alloc, Drops drops) {
        this.alloc = Objects.requireNonNull(alloc, "alloc");
        this.drops = Objects.requireNonNull(drops, "drops");
    }

    /**
     * Takes one fragment ({@code p} its parse; ownership of {@code packet} passes here).
     * Returns the whole datagram when this fragment completed it (a new buffer the caller owns),
     * else null: the fragment is held, or it was dropped and reported.
     */
    public @Nullable ByteBuf add(ByteBuf packet, IpPacket p, long nowNanos) {
        if (!p.isFragment()) {
            throw new IllegalArgumentException("expected a fragment, found an unfragmented packet");
        }
        expire(nowNanos);
        boolean v4 = p.ipVersion() == 4;
        int keep = v4 ? p.headerLength() : p.fragmentHeaderOffset(); // what the whole datagram keeps in front
        int payloadStart = v4 ? keep : keep + 8;
        int start = p.fragmentOffset();
        int size = p.length() - payloadStart;
        int end = start + size;
        Key key = new Key(p.ipVersion(), p.sourceHigh(), p.sourceLow(), p.destinationHigh(), p.destinationLow(),
                v4 ? p.protocol() : 0, p.identification());
        Partial partial = partials.get(key);
        if (size == 0 || (p.moreFragments() && size % 8 != 0) || (start == 0 && size < transportHeader(p.protocol()))) {
            return refuse(key, partial, packet, Reason.INVALID);
        }
        if ((v4 ? keep + end : keep - 40 + end) > MAX_DATAGRAM) {
            return refuse(key, partial, packet, Reason.LIMIT);
        }
        if (partial == null) {
            if (partials.size() >= MAX_DATAGRAMS) {
                return refuse(key, null, packet, Reason.LIMIT);
            }
            partial = new Partial(nowNanos);
            partials.put(key, partial);
        }
        int at = 0;
        for (Piece piece : partial.pieces) {
            if (piece.start() == start && piece.end() == end && samePayload(piece, packet, payloadStart)) {
                packet.release();
                drops.dropped(Reason.DUPLICATE, 1);
                return null;
            }
            if (start < piece.end() && piece.start() < end) {
                return refuse(key, partial, packet, Reason.OVERLAP);
            }
            if (piece.start() < start) {
                at++;
            }
        }
        if (!p.moreFragments()) {
            if (partial.total >= 0 && partial.total != end) {
                return refuse(key, partial, packet, Reason.OVERLAP);
            }
            partial.total = end;
        }
        if (partial.total >= 0 && (end > partial.total || lastEnd(partial) > partial.total)) {
            return refuse(key, partial, packet, Reason.OVERLAP); // data beyond the datagram's end
        }
        if (buffered + p.length() > MAX_BUFFERED) {
            return refuse(key, partial, packet, Reason.LIMIT);
        }
        if (start == 0) {
            partial.headerLength = keep;
            partial.linkOffset = p.fragmentLinkOffset();
        }
        partial.pieces.add(at, new Piece(start, end, packet, packet.readerIndex() + payloadStart));
        partial.bytes += p.length();
        buffered += p.length();
        if (partial.total < 0 || partial.pieces.getFirst().start() != 0 || !contiguous(partial)) {
            return null;
        }
        partials.remove(key);
        return assemble(partial);
    }

    /** Drops every datagram that has not completed within {@link #TIMEOUT}; the engine calls it each second. */
    public void expire(long nowNanos) {
        long timeout = TIMEOUT.toNanos();
        for (Iterator<Partial> it = partials.values().iterator(); it.hasNext(); ) {
            Partial partial = it.next();
            if (nowNanos - partial.startedNanos < timeout) {
                return; // the rest are younger
            }
            it.remove();
            release(partial, Reason.TIMEOUT);
        }
    }

    /** Datagrams in progress (for tests and diagnostics). */
    public int inProgress() {
        return partials.size();
    }

    /** Bytes of fragments held. */
    public int buffered() {
        return buffered;
    }

    /** Drops every datagram still incomplete, as {@link Reason#TIMEOUT}: the session ended before them. */
    @Override
    public void close() {
        for (Partial partial : partials.values()) {
            release(partial, Reason.TIMEOUT);
        }
        partials.clear();
    }

    private @Nullable ByteBuf refuse(Key key, @Nullable Partial partial, ByteBuf packet, Reason reason) {
        packet.release();
        int packets = 1;
        if (partial != null) {
            partials.remove(key);
            packets += partial.pieces.size();
            releasePieces(partial);
        }
        drops.dropped(reason, packets);
        return null;
    }

    private void release(Partial partial, Reason reason) {
        int packets = partial.pieces.size();
        releasePieces(partial);
        drops.dropped(reason, packets);
    }

    private void releasePieces(Partial partial) {
        for (Piece piece : partial.pieces) {
            piece.packet().release();
        }
        buffered -= partial.bytes;
        partial.pieces.clear();
    }

    private ByteBuf assemble(Partial partial) {
        ByteBuf first = partial.pieces.getFirst().packet();
        int header = partial.headerLength;
        int length = header + partial.total;
        ByteBuf whole = alloc.buffer(length);
        try {
            whole.writeBytes(first, first.readerIndex(), header);
            for (Piece piece : partial.pieces) {
                whole.writeBytes(piece.packet(), piece.payloadIndex(), piece.end() - piece.start());
            }
            if (whole.getUnsignedByte(0) >>> 4 == 4) {
                whole.setShort(2, length);
                whole.setShort(6, 0); // no flags, offset 0: a whole datagram again
                whole.setShort(10, 0);
                whole.setShort(10, InternetChecksum.compute(whole, 0, header));
            } else {
                int fragmentHeader = first.readerIndex() + header;
                whole.setByte(partial.linkOffset, first.getUnsignedByte(fragmentHeader)); // what followed it
                whole.setShort(4, length - 40);
            }
            return whole;
        } finally {
            releasePieces(partial);
        }
    }

    private static boolean contiguous(Partial partial) {
        int next = 0;
        for (Piece piece : partial.pieces) {
            if (piece.start() != next) {
                return false;
            }
            next = piece.end();
        }
        return next == partial.total;
    }

    private static int lastEnd(Partial partial) {
        return partial.pieces.isEmpty() ? 0 : partial.pieces.getLast().end();
    }

    private static boolean samePayload(Piece piece, ByteBuf packet, int payloadStart) {
        int size = piece.end() - piece.start();
        return piece.packet().slice(piece.payloadIndex(), size)
                .equals(packet.slice(packet.readerIndex() + payloadStart, size));
    }

    /** The bytes a first fragment must carry so its ports (or ICMP type and id) are in it (RFC 1858). */
    private static int transportHeader(int protocol) {
        return switch (protocol) {
            case IpPacket.TCP -> 20;
            case IpPacket.UDP, IpPacket.ICMP, IpPacket.ICMPV6 -> 8;
            default -> 0;
        };
    }
}
