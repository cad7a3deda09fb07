package org.postern.gateway.vpn;

import java.util.concurrent.atomic.LongAdder;

/** The VPN engine's totals across sessions, for the metrics: packets and bytes each way, drops by reason. */
public final class VpnCounters {

    final LongAdder packetsUp = new LongAdder();
    final LongAdder packetsDown = new LongAdder();
    final LongAdder bytesUp = new LongAdder();
    final LongAdder bytesDown = new LongAdder();
    private final LongAdder[] drops = new LongAdder[VpnDrop.values().length];

    public VpnCounters() {
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
        }
    }

    void dropped(VpnDrop reason, long count) {
        drops[reason.ordinal()].add(count);
    }

    /** Packets from the devices forwarded to the admin network. */
    public long packetsUp() {
        return packetsUp.sum();
    }

    /** Packets from the admin network sent to the devices. */
    public long packetsDown() {
        return packetsDown.sum();
    }

    public long bytesUp() {
        return bytesUp.sum();
    }

    public long bytesDown() {
        return bytesDown.sum();
    }

    public long dropped(VpnDrop reason) {
        return drops[reason.ordinal()].sum();
    }
}
