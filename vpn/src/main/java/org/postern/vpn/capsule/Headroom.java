package org.postern.vpn.capsule;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Puts a few header bytes in front of a packet without copying the packet: into the buffer's own
 * headroom when nobody else can see it, otherwise as the first part of a composite buffer.
 */
final class Headroom {
    private Headroom() {
    }

    /**
     * Returns a buffer whose first {@code header} readable bytes are for the caller to set and
     * whose remaining readable bytes are the packet. Takes ownership of {@code packet}.
     */
    static ByteBuf prepend(ByteBuf packet, int header, ByteBufAllocator alloc) {
        // Only a buffer that is not a view of another and has a single owner may be written before
        // its reader index: a slice's headroom is someone else's bytes.
        if (packet.readerIndex() >= header && packet.unwrap() == null && packet.refCnt() == 1) {
            return packet.readerIndex(packet.readerIndex() - header);
        }
        ByteBuf head = alloc.buffer(header).writerIndex(header);
        return alloc.compositeBuffer(2).addComponents(true, head, packet);
    }
}
