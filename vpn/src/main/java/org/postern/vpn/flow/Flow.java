package org.postern.vpn.flow;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import org.jspecify.annotations.Nullable;
import org.postern.vpn.packet.FiveTuple;

/**
 * One tracked flow of a session: its key from the device's side, the gate's verdict, counters each
 * way and times (from the caller's nanosecond clock). Mutated only by its {@link FlowTable}, on the
 * session's event loop; the getters are for the caller on that loop (audit, metrics).
 */
public final class Flow {
    private final FiveTuple key;
    private final long openedNanos;
    FlowState state = FlowState.PENDING;
    boolean fresh = true;
    boolean ended;
    long lastSeenNanos;
    long decidedNanos;
    long packetsFromDevice;
    long bytesFromDevice;
    long packetsToDevice;
    long bytesToDevice;
    boolean replied;
    boolean finFromDevice;
    boolean finToDevice;
    boolean reset;
    @Nullable ArrayDeque<ByteBuf> held;
    long droppedWhilePending;

    Flow(FiveTuple key, long nowNanos) {
        this.key = key;
        this.openedNanos = nowNanos;
        this.lastSeenNanos = nowNanos;
    }

    public FiveTuple key() {
        return key;
    }

    public FlowState state() {
        return state;
    }

    /**
     * True only on the {@link FlowTable#fromDevice} call that created this flow: the caller starts
     * the admission gate for it then, and only then.
     */
    public boolean isNew() {
        return fresh;
    }

    public long openedNanos() {
        return openedNanos;
    }

    public long lastSeenNanos() {
        return lastSeenNanos;
    }

    public long packetsFromDevice() {
        return packetsFromDevice;
    }

    public long bytesFromDevice() {
        return bytesFromDevice;
    }

    public long packetsToDevice() {
        return packetsToDevice;
    }

    public long bytesToDevice() {
        return bytesToDevice;
    }

    /** Packets waiting for the gate's decision. */
    public int heldPackets() {
        return held == null ? 0 : held.size();
    }

    /** Packets dropped because the pending queue was full (the oldest go first). */
    public long droppedWhilePending() {
        return droppedWhilePending;
    }

    /** Whether TCP saw RST, or FIN in both directions. */
    public boolean isTcpClosed() {
        return reset || (finFromDevice && finToDevice);
    }

    @Override
    public String toString() {
        return key + " " + state;
    }
}
