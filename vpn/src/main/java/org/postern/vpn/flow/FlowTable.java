package org.postern.vpn.flow;

import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.postern.vpn.packet.FiveTuple;
import org.postern.vpn.packet.IpPacket;

/**
 * Connection tracking for one VPN session, like a firewall's conntrack. A packet from the device
 * finds or creates its flow ({@link #fromDevice}); a new flow is {@link FlowState#PENDING} while
 * the admission gate decides asynchronously, its packets held in a small queue (the oldest dropped
 * beyond the bound); {@link #allow} hands them back to be forwarded, {@link #deny} drops them and
 * remembers the denial for {@link FlowTimeouts#denialMemory()}. A packet toward the device
 * ({@link #toDevice}) passes only for an allowed flow whose reverse it is. {@link #sweep} ends idle
 * and closed flows.
 *
 * <p>Threading: not thread-safe, by design. One session's packets are handled on one event loop;
 * the gate's verdict, {@link #sweep} and {@link #closeAll} must run on that loop too (hop there with
 * {@code eventLoop.execute}). Time is the caller's monotonic nanosecond clock ({@code
 * System.nanoTime()} or a test ticker).
 *
 * <p>A flow found expired on lookup (idle past its timeout, an expired denial, or a closed TCP
 * flow that sees a fresh SYN: port reuse) is ended there and a new flow starts, so a reused
 * five-tuple always passes the gate again; the ended one is reported by the next {@link #sweep}.
 */
public final class FlowTable {
    private final FlowTimeouts timeouts;
    private final int maxFlows;
    private final int maxHeldPackets;
    private final Map<FiveTuple, Flow> flows = new HashMap<>();
    private final List<EndedFlow> endedOnLookup = new ArrayList<>();

    /**
     * @param maxFlows the most flows one session may track at once (pending, allowed and denied)
     * @param maxHeldPackets the most packets held per pending flow
     */
    public FlowTable(FlowTimeouts timeouts, int maxFlows, int maxHeldPackets) {
        if (maxFlows < 1 || maxHeldPackets < 0) {
            throw new IllegalArgumentException("flow table: expected maxFlows >= 1 and maxHeldPackets >= 0, found "
                    + maxFlows + " and " + maxHeldPackets);
        }
        this.timeouts = timeouts;
        this.maxFlows = maxFlows;
        this.maxHeldPackets = maxHeldPackets;
    }

    /**
     * Tracks a packet the device sent (parsed successfully) and returns its flow, counted. Switch on
     * {@link Flow#state()}: PENDING → {@link #hold} it (and start the gate if {@link Flow#isNew()});
     * ALLOWED → forward; DENIED → drop and answer with ICMP. A fragment after the first carries no
     * ports ({@link IpPacket#hasTransportHeader()} is false for TCP/UDP): it has no five-tuple of
     * its own, so the caller reassembles or drops it rather than tracking it here.
     *
     * @throws FlowLimitException when the packet would open a flow beyond the session's bound
     */
    public Flow fromDevice(IpPacket packet, long nowNanos) {
        FiveTuple key = packet.flowKey();
        Flow flow = flows.get(key);
        if (flow != null && startsOver(flow, packet, nowNanos)) {
            end(flow, reasonFor(flow));
            flow = null;
        }
        if (flow == null) {
            if (flows.size() >= maxFlows) {
                throw new FlowLimitException("session already tracks " + maxFlows + " flows (the most allowed); "
                        + "refusing new flow " + key);
            }
            flow = new Flow(key, nowNanos);
            flows.put(key, flow);
        } else {
            flow.fresh = false;
        }
        flow.lastSeenNanos = nowNanos;
        flow.packetsFromDevice++;
        flow.bytesFromDevice += packet.length();
        if (packet.protocol() == IpPacket.TCP && packet.hasTransportHeader()) {
            flow.finFromDevice |= packet.isFin();
            flow.reset |= packet.isRst();
        }
        return flow;
    }

    /**
     * Tracks a packet toward the device (parsed successfully) and returns its flow, counted, when the
     * flow is allowed; null when the packet must be dropped (no such flow, pending, denied, ended).
     */
    public @Nullable Flow toDevice(IpPacket packet, long nowNanos) {
        Flow flow = flows.get(packet.replyFlowKey());
        if (flow == null || flow.state != FlowState.ALLOWED) {
            return null;
        }
        if (expired(flow, nowNanos)) {
            end(flow, reasonFor(flow));
            return null;
        }
        flow.lastSeenNanos = nowNanos;
        flow.packetsToDevice++;
        flow.bytesToDevice += packet.length();
        flow.replied = true;
        if (packet.protocol() == IpPacket.TCP && packet.hasTransportHeader()) {
            flow.finToDevice |= packet.isFin();
            flow.reset |= packet.isRst();
        }
        return flow;
    }

    /**
     * Holds a packet of a pending flow until the gate decides; takes ownership of {@code packet}.
     * Beyond the bound the oldest held packet is released (TCP and most UDP protocols retransmit).
     *
     * @throws IllegalStateException when the flow is not pending
     */
    public void hold(Flow flow, ByteBuf packet) {
        if (flow.state != FlowState.PENDING || flow.ended) {
            packet.release();
            throw new IllegalStateException("hold: expected a pending flow, found " + flow
                    + (flow.ended ? " (ended)" : ""));
        }
        if (maxHeldPackets == 0) {
            packet.release();
            flow.droppedWhilePending++;
            return;
        }
        ArrayDeque<ByteBuf> queue = flow.held;
        if (queue == null) {
            queue = new ArrayDeque<>(Math.min(maxHeldPackets, 8));
            flow.held = queue;
        }
        if (queue.size() >= maxHeldPackets) {
            queue.removeFirst().release();
            flow.droppedWhilePending++;
        }
        queue.addLast(packet);
    }

    /**
     * The gate allowed the flow: it becomes {@link FlowState#ALLOWED} and its held packets come
     * back, oldest first, for the caller to forward (and release). A verdict for a flow that ended
     * meanwhile (swept, closed, replaced) is ignored and returns nothing.
     */
    public List<ByteBuf> allow(Flow flow, long nowNanos) {
        if (!decide(flow, FlowState.ALLOWED, nowNanos)) {
            return List.of();
        }
        ArrayDeque<ByteBuf> queue = flow.held;
        flow.held = null;
        return queue == null ? List.of() : new ArrayList<>(queue);
    }

    /** The gate denied the flow: its held packets are released and the denial is remembered. */
    public void deny(Flow flow, long nowNanos) {
        if (decide(flow, FlowState.DENIED, nowNanos)) {
            releaseHeld(flow);
        }
    }

    /** Ends the flows whose time has come and returns them (with those ended on lookup since the last sweep). */
    public List<EndedFlow> sweep(long nowNanos) {
        List<EndedFlow> ended = new ArrayList<>(endedOnLookup);
        endedOnLookup.clear();
        for (Iterator<Flow> it = flows.values().iterator(); it.hasNext(); ) {
            Flow flow = it.next();
            if (expired(flow, nowNanos)) {
                it.remove();
                ended.add(finish(flow, reasonFor(flow)));
            }
        }
        return ended;
    }

    /** Ends every flow (the session is over) and returns them, with those ended on lookup. */
    public List<EndedFlow> closeAll() {
        List<EndedFlow> ended = new ArrayList<>(endedOnLookup);
        endedOnLookup.clear();
        for (Flow flow : flows.values()) {
            ended.add(finish(flow, EndReason.SESSION_END));
        }
        flows.clear();
        return ended;
    }

    /**
     * Ends {@code flow} now, its permission withdrawn (the window of hours that admitted it closed):
     * it leaves the table at once, so the next packet of its five-tuple starts a new flow that asks
     * the gate again, and no packet toward the device passes for it meanwhile.
     *
     * @return false when the flow was not tracked any more (it ended already, or another replaced it)
     */
    public boolean withdraw(Flow flow) {
        if (flow.ended || flows.get(flow.key()) != flow) {
            return false;
        }
        flows.remove(flow.key());
        finish(flow, EndReason.WITHDRAWN);
        return true;
    }

    /** The flow with this key (from the device's side), if tracked. */
    public @Nullable Flow get(FiveTuple key) {
        return flows.get(key);
    }

    /** Flows tracked now. */
    public int size() {
        return flows.size();
    }

    private boolean decide(Flow flow, FlowState verdict, long nowNanos) {
        if (flow.ended || flow.state != FlowState.PENDING) {
            return false;
        }
        flow.state = verdict;
        flow.decidedNanos = nowNanos;
        return true;
    }

    private boolean startsOver(Flow flow, IpPacket packet, long nowNanos) {
        boolean freshSyn = packet.protocol() == IpPacket.TCP && packet.isSyn() && !packet.isAck();
        return expired(flow, nowNanos) || (flow.isTcpClosed() && freshSyn);
    }

    private boolean expired(Flow flow, long nowNanos) {
        if (flow.state == FlowState.DENIED) {
            return nowNanos - flow.decidedNanos >= timeouts.denialMemory().toNanos();
        }
        return nowNanos - flow.lastSeenNanos >= idleTimeout(flow).toNanos();
    }

    private Duration idleTimeout(Flow flow) {
        return switch (flow.key().protocol()) {
            case IpPacket.TCP -> flow.isTcpClosed() ? timeouts.tcpClosed()
                    : flow.replied ? timeouts.tcpEstablished() : timeouts.tcpHalfOpen();
            case IpPacket.UDP -> timeouts.udp();
            case IpPacket.ICMP, IpPacket.ICMPV6 -> timeouts.icmp();
            default -> timeouts.other();
        };
    }

    private static EndReason reasonFor(Flow flow) {
        if (flow.state == FlowState.DENIED) {
            return EndReason.DENIAL_EXPIRED;
        }
        return flow.isTcpClosed() ? EndReason.TCP_CLOSED : EndReason.IDLE;
    }

    private void end(Flow flow, EndReason reason) {
        flows.remove(flow.key());
        endedOnLookup.add(finish(flow, reason));
    }

    private static EndedFlow finish(Flow flow, EndReason reason) {
        flow.ended = true;
        releaseHeld(flow);
        return new EndedFlow(flow, reason);
    }

    private static void releaseHeld(Flow flow) {
        ArrayDeque<ByteBuf> queue = flow.held;
        flow.held = null;
        if (queue != null) {
            for (ByteBuf packet : queue) {
                packet.release();
            }
        }
    }
}
