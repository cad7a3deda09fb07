package org.postern.vpn.capsule;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;

/** Writes capsules in the wire format of RFC 9297 §3.2 and RFC 9484 §4.7. */
public final class CapsuleEncoder {
    private CapsuleEncoder() {
    }

    /**
     * Encodes one capsule. For a {@link Capsule.Datagram} the payload is not copied: the result is
     * the header followed by the payload (a composite buffer) and takes over the payload's reference.
     */
    public static ByteBuf encode(Capsule capsule, ByteBufAllocator alloc) {
        return switch (capsule) {
            case Capsule.Datagram datagram -> datagram(datagram.payload(), alloc);
            case Capsule.AddressAssign assign -> entries(Capsule.ADDRESS_ASSIGN, assign.addresses(), alloc);
            case Capsule.AddressRequest request -> entries(Capsule.ADDRESS_REQUEST, request.addresses(), alloc);
            case Capsule.RouteAdvertisement routes -> ranges(routes.ranges(), alloc);
            case Capsule.Unknown unknown -> {
                byte[] bytes = unknown.bytes();
                ByteBuf out = alloc.buffer(16 + bytes.length);
                QuicVarint.write(out, unknown.type());
                QuicVarint.write(out, bytes.length);
                yield out.writeBytes(bytes);
            }
        };
    }

    /**
     * The DATAGRAM capsule that carries one IP packet (context id 0), for the HTTP/2 path. Takes
     * ownership of {@code ipPacket}; writes the 3 to 6 header bytes into its headroom when the
     * buffer is unshared and has room, so a reader that reserves headroom gets no copy and no
     * composite.
     */
    public static ByteBuf ipPacketCapsule(ByteBuf ipPacket, ByteBufAllocator alloc) {
        int payloadLength = 1 + ipPacket.readableBytes();
        int header = 1 + QuicVarint.encodedLength(payloadLength) + 1;
        ByteBuf out = Headroom.prepend(ipPacket, header, alloc);
        int index = out.readerIndex();
        out.setByte(index, (int) Capsule.DATAGRAM);
        index += 1 + QuicVarint.set(out, index + 1, payloadLength);
        out.setByte(index, (int) HttpDatagrams.IP_PACKET_CONTEXT_ID);
        return out;
    }

    private static ByteBuf datagram(ByteBuf payload, ByteBufAllocator alloc) {
        ByteBuf header = alloc.buffer(9);
        QuicVarint.write(header, Capsule.DATAGRAM);
        QuicVarint.write(header, payload.readableBytes());
        return alloc.compositeBuffer(2).addComponents(true, header, payload);
    }

    private static ByteBuf entries(long type, List<AddressEntry> entries, ByteBufAllocator alloc) {
        int length = 0;
        for (AddressEntry entry : entries) {
            length += QuicVarint.encodedLength(entry.requestId()) + 2 + entry.address().getAddress().length;
        }
        ByteBuf out = alloc.buffer(16 + length);
        QuicVarint.write(out, type);
        QuicVarint.write(out, length);
        for (AddressEntry entry : entries) {
            QuicVarint.write(out, entry.requestId());
            out.writeByte(entry.ipVersion());
            out.writeBytes(entry.address().getAddress());
            out.writeByte(entry.prefixLength());
        }
        return out;
    }

    private static ByteBuf ranges(List<IpAddressRange> ranges, ByteBufAllocator alloc) {
        int length = 0;
        for (IpAddressRange range : ranges) {
            length += 2 + 2 * range.start().getAddress().length;
        }
        ByteBuf out = alloc.buffer(16 + length);
        QuicVarint.write(out, Capsule.ROUTE_ADVERTISEMENT);
        QuicVarint.write(out, length);
        for (IpAddressRange range : ranges) {
            out.writeByte(range.ipVersion());
            out.writeBytes(range.start().getAddress());
            out.writeBytes(range.end().getAddress());
            out.writeByte(range.ipProtocol());
        }
        return out;
    }
}
