package org.postern.agent.vpn;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Packets read from the TUN device in one {@code read(List)} call, in direct buffers the reader
 * reuses: the engine copies what it sends and then hands the batch back ({@link #recycle}), so the
 * reader never overwrites a packet still being sent.
 */
final class PacketBatch {
    final List<ByteBuffer> buffers;
    int count;
    private final Runnable recycle;

    PacketBatch(int packets, int packetSize, java.util.function.Consumer<PacketBatch> recycler) {
        List<ByteBuffer> b = new ArrayList<>(packets);
        for (int i = 0; i < packets; i++) {
            b.add(ByteBuffer.allocateDirect(packetSize));
        }
        this.buffers = List.copyOf(b);
        this.recycle = () -> recycler.accept(this);
    }

    /** Empties the buffers for the next read. */
    PacketBatch clear() {
        buffers.forEach(ByteBuffer::clear);
        count = 0;
        return this;
    }

    /** Packet {@code i} of those read, flipped in place to lie between position 0 and its length. */
    ByteBuffer packet(int i) {
        return buffers.get(i).flip();
    }

    /** Gives the buffers back to the reader. */
    void recycle() {
        recycle.run();
    }
}
