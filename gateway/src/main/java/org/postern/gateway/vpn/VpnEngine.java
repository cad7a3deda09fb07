package org.postern.gateway.vpn;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.NetUtil;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionEnd;
import org.postern.protocol.HostPort;
import org.postern.protocol.Reasons;
import org.postern.vpn.capsule.AddressEntry;
import org.postern.vpn.capsule.Capsule;
import org.postern.vpn.capsule.CapsuleDecoder;
import org.postern.vpn.capsule.CapsuleEncoder;
import org.postern.vpn.capsule.CapsuleException;
import org.postern.vpn.capsule.HttpDatagrams;
import org.postern.vpn.capsule.IpAddressRange;
import org.postern.vpn.flow.EndReason;
import org.postern.vpn.flow.EndedFlow;
import org.postern.vpn.flow.Flow;
import org.postern.vpn.flow.FlowLimitException;
import org.postern.vpn.flow.FlowTable;
import org.postern.vpn.flow.FlowTimeouts;
import org.postern.vpn.link.TunMtu;
import org.postern.vpn.packet.Addresses;
import org.postern.vpn.packet.Fragmenter;
import org.postern.vpn.packet.IcmpAnswers;
import org.postern.vpn.packet.IpPacket;
import org.postern.vpn.packet.Reassembler;
import org.postern.vpn.transport.IpLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One VPN session's packet engine: packets from the device (HTTP/3 datagrams or HTTP/2 DATAGRAM
 * capsules) are checked (context id 0, parsable, no IPv4 options, from the device's own address,
 * within the tunnel MTU), fragments reassembled into whole datagrams first, tracked in the session's {@link FlowTable} and written to
 * the egress only for flows the gate passed; the first packet of a new five-tuple asks the gate on
 * a worker, and {@code flow.open} is durable before any packet of the flow leaves. Packets toward
 * the device pass only for allowed flows; an IPv4 one larger than the tunnel without DF is
 * fragmented to fit, anything else too big is answered with ICMP toward the admin host.
 *
 * <p><b>Threads.</b> Everything but the gate and the audit records runs on the link's event loop
 * ({@code loop}); the flow table and the packet parser are used there only, so the per-packet path
 * takes no lock and allocates nothing of its own. The drop counters are read from other threads
 * ({@code session.end}, metrics).
 */
final class VpnEngine implements IpLink.Receiver {

    private static final Logger LOG = LoggerFactory.getLogger(VpnEngine.class);

    /** The most ICMP errors sent to one device per second (contract: 100/s per session). */
    static final int ICMP_PER_SECOND = 100;
    /** After the first {@code vpn.spoofed} of a burst, at most one record per this much time. */
    static final Duration SPOOF_RECORD_EVERY = Duration.ofSeconds(10);
    /** A link that has received nothing (not even a keepalive capsule) for this long is dead. */
    static final Duration SILENCE_LIMIT = Duration.ofSeconds(45);
    /**
     * How often the gateway sends its own keepalive (the contract's reserved capsule, type 0x40,
     * RFC 9297 §5.4) so a quiet link survives QUIC's 30 s idle timeout and the agent's 45 s check.
     */
    static final Duration KEEPALIVE_EVERY = Duration.ofSeconds(10);
    static final long KEEPALIVE_CAPSULE_TYPE = 0x40;
    /** The tunnel MTU over HTTP/2 (contract). */
    static final int H2_MTU = 1400;
    /** The QUIC UDP payload both ends use (docs/vpn.md, Transports). */
    static final int QUIC_UDP_PAYLOAD = 1452;
    static final int MAX_HELD_PACKETS = 8;

    /** Where packets leave for the admin network (the gateway's TUN); takes ownership of each packet. */
    @FunctionalInterface
    interface Egress {
        void write(ByteBuf packet);
    }

    /** The gate for one flow of this session's device ({@code TunnelGate.openFlow}); blocks. */
    @FunctionalInterface
    interface FlowGate {
        GateDecision openFlow(int ipProtocol, InetAddress dest, int port);
    }

    /**
     * The device's addresses and the gateway's, from the pool.
     *
     * @param gateway6 the gateway's IPv6 address, null without {@code vpn.pool6}
     */
    record Addressing(Inet4Address device, @Nullable Inet6Address device6, Inet4Address gateway,
                      @Nullable Inet6Address gateway6) {
        Addressing {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(gateway, "gateway");
        }
    }

    private final IpLink link;
    private final Executor loop;
    private final Executor workers;
    private final FlowGate gate;
    private final VpnAudit audit;
    private final Session session;
    private final Addressing addressing;
    private final Egress egress;
    private final LongSupplier nanos;
    private final ByteBufAllocator alloc;
    private final Runnable onGone;
    private final VpnCounters counters;
    private final int mtu;
    private final boolean datagrams;
    private final long deviceLow;
    private final long device6High;
    private final long device6Low;

    // event loop only
    private final IpPacket parser = new IpPacket();
    private final Reassembler reassembler;
    private final FlowTable flows;
    private final Map<Flow, VpnAudit.Opened> opened = new IdentityHashMap<>();
    private final CapsuleDecoder capsules;
    private final AtomicLongArray drops = new AtomicLongArray(VpnDrop.values().length);
    private long lastHeardNanos;
    private long lastKeepaliveNanos;
    private long icmpWindowStart;
    private int icmpInWindow;
    private long spoofPending;
    private @Nullable String spoofClaimed;
    private long lastSpoofRecordNanos;
    private boolean spoofRecorded;
    private boolean pendingWrites;
    private @Nullable String endedHow;
    /** What the device was last told to route; null before the first ROUTE_ADVERTISEMENT (always sent, even empty). */
    private @Nullable List<IpAddressRange> advertised;

    VpnEngine(IpLink link, Executor loop, Executor workers, FlowGate gate, VpnAudit audit, Session session,
              Addressing addressing, Egress egress, FlowTimeouts timeouts, int maxFlows, LongSupplier nanos,
              ByteBufAllocator alloc, VpnCounters counters, Runnable onGone) {
        this.link = Objects.requireNonNull(link, "link");
        this.loop = Objects.requireNonNull(loop, "loop");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.gate = Objects.requireNonNull(gate, "gate");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.session = Objects.requireNonNull(session, "session");
        this.addressing = Objects.requireNonNull(addressing, "addressing");
        this.egress = Objects.requireNonNull(egress, "egress");
        this.nanos = Objects.requireNonNull(nanos, "nanos");
        this.alloc = Objects.requireNonNull(alloc, "alloc");
        this.onGone = Objects.requireNonNull(onGone, "onGone");
        this.counters = Objects.requireNonNull(counters, "counters");
        this.flows = new FlowTable(timeouts, maxFlows, MAX_HELD_PACKETS);
        this.capsules = new CapsuleDecoder(alloc, CapsuleDecoder.MAX_CONNECT_IP_CAPSULE);
        this.reassembler = new Reassembler(alloc, (reason, packets) -> count(fragmentDrop(reason), packets));
        this.datagrams = link.transport().equals(IpLink.H3);
        this.mtu = tunnelMtu(link);
        this.deviceLow = Addresses.low(addressing.device());
        this.device6High = addressing.device6() == null ? 0 : Addresses.high(addressing.device6());
        this.device6Low = addressing.device6() == null ? 0 : Addresses.low(addressing.device6());
        this.lastHeardNanos = nanos.getAsLong();
        this.lastKeepaliveNanos = lastHeardNanos;
    }

    /**
     * The tunnel MTU both ends use (contract): over HTTP/3 what one QUIC datagram carries, over
     * HTTP/2 1400.
     */
    static int tunnelMtu(IpLink link) {
        if (!link.transport().equals(IpLink.H3)) {
            return H2_MTU;
        }
        int mtu = TunMtu.fromUdpPayload(QUIC_UDP_PAYLOAD).mtu();
        int payload = link.maxDatagramPayload();
        return payload > 1 ? Math.min(mtu, payload - 1) : mtu;
    }

    int mtu() {
        return mtu;
    }

    /** Packets dropped so far, by reason, only the non-zero ones (for {@code session.end} and metrics). */
    Map<String, Long> dropped() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (VpnDrop d : VpnDrop.values()) {
            long n = drops.get(d.ordinal());
            if (n > 0) {
                out.put(d.wireName(), n);
            }
        }
        return out;
    }

    long dropped(VpnDrop reason) {
        return drops.get(reason.ordinal());
    }

    /** Starts reading the link and follows the session's end; call once, after the address capsules were sent. */
    void start() {
        session.droppedCounts(this::dropped);
        session.onEnd(why -> loop.execute(() -> end(why.flowEnd().wireName())));
        link.setReceiver(this);
    }

    // ---- from the device ----

    @Override
    public void onDatagram(ByteBuf payload) {
        lastHeardNanos = nanos.getAsLong();
        fromDeviceDatagram(payload);
        flush();
    }

    @Override
    public void onStream(ByteBuf bytes) {
        lastHeardNanos = nanos.getAsLong();
        if (endedHow != null) {
            bytes.release();
            return;
        }
        try {
            capsules.decode(bytes, this::onCapsule);
        } catch (CapsuleException e) {
            LOG.info("{}: malformed capsule stream, closing the VPN link: {}", session, e.getMessage());
            endWithSession(SessionEnd.CLIENT_CLOSED);
        }
        flush();
    }

    private void onCapsule(Capsule capsule) {
        switch (capsule) {
            case Capsule.Datagram d -> fromDeviceDatagram(d.payload());
            case Capsule.AddressRequest r -> answer(r);
            // ADDRESS_ASSIGN and ROUTE_ADVERTISEMENT from the device, keepalives and grease: ignored (RFC 9297 §3.2)
            case Capsule.AddressAssign a -> { }
            case Capsule.RouteAdvertisement r -> { }
            case Capsule.Unknown u -> { }
        }
    }

    /** ADDRESS_REQUEST: the device's one address again under the request id; anything else refused (RFC 9484 §4.7.1). */
    private void answer(Capsule.AddressRequest request) {
        List<AddressEntry> answers = request.addresses().stream().map(e -> {
            InetAddress mine = e.ipVersion() == 4 ? addressing.device() : addressing.device6();
            boolean any = e.address().isAnyLocalAddress();
            return mine != null && (any || e.address().equals(mine))
                    ? new AddressEntry(e.requestId(), mine, mine.getAddress().length * 8)
                    : AddressEntry.refusal(e.requestId(), e.ipVersion());
        }).toList();
        link.sendStream(CapsuleEncoder.encode(new Capsule.AddressAssign(answers), alloc));
        pendingWrites = true;
    }

    private void fromDeviceDatagram(ByteBuf payload) {
        if (endedHow != null) {
            payload.release();
            return;
        }
        long context;
        try {
            context = HttpDatagrams.readContextId(payload);
        } catch (CapsuleException e) {
            drop(VpnDrop.MALFORMED, payload);
            return;
        }
        if (context != HttpDatagrams.IP_PACKET_CONTEXT_ID) {
            drop(VpnDrop.UNKNOWN_CONTEXT, payload);
            return;
        }
        fromDevice(payload);
    }

    /** One IP packet from the device (ownership passes here). */
    void fromDevice(ByteBuf packet) {
        IpPacket p = parser;
        if (!p.parse(packet)) {
            drop(VpnDrop.MALFORMED, packet);
            return;
        }
        if (p.hasIpv4Options()) {
            drop(VpnDrop.IPV4_OPTIONS, packet);
            return;
        }
        if (localScope(p)) { // before the source check: a laptop's link-local chatter is not a spoofing attempt
            drop(VpnDrop.LOCAL_SCOPE, packet);
            return;
        }
        if (!fromDeviceAddress(p)) {
            spoofed(p);
            drop(VpnDrop.SPOOFED, packet);
            return;
        }
        if (p.isFragment()) {
            reassemble(packet, p);
            return;
        }
        if (p.length() > mtu) {
            InetAddress from = gatewayAddress(p.ipVersion());
            if (from != null && icmpAllowed()) {
                ByteBuf icmp = IcmpAnswers.packetTooBig(packet, p, from, Math.max(mtu, p.ipVersion() == 6 ? 1280 : 68), alloc);
                if (icmp != null) {
                    toLink(icmp);
                }
            }
            drop(VpnDrop.TOO_BIG, packet);
            return;
        }
        judged(packet, p);
    }

    /**
     * A fragment (already checked for scope and source, which its datagram shares) goes to the
     * session's reassembler; a datagram it completes takes the rest of the path whole. It is not
     * held to the tunnel MTU: the laptop fragmented it to fit, and the egress TUN (MTU 1500)
     * fragments it again on the way out if it must and DF allows.
     */
    private void reassemble(ByteBuf fragment, IpPacket p) {
        ByteBuf whole = reassembler.add(fragment, p, nanos.getAsLong());
        if (whole == null) {
            return;
        }
        if (!p.parse(whole)) {
            drop(VpnDrop.MALFORMED, whole);
            return;
        }
        judged(whole, p);
    }

    private static VpnDrop fragmentDrop(Reassembler.Reason reason) {
        return switch (reason) {
            case OVERLAP -> VpnDrop.FRAGMENT_OVERLAP;
            case TIMEOUT -> VpnDrop.FRAGMENT_TIMEOUT;
            case LIMIT -> VpnDrop.FRAGMENT_LIMIT;
            case INVALID, DUPLICATE -> VpnDrop.FRAGMENT;
        };
    }

    /** A whole packet from the device that passed the checks: into its flow, then up, held or refused. */
    private void judged(ByteBuf packet, IpPacket p) {
        long now = nanos.getAsLong();
        Flow flow;
        try {
            flow = flows.fromDevice(p, now);
        } catch (FlowLimitException e) {
            LOG.debug("{}: {}", session, e.getMessage());
            drop(VpnDrop.FLOW_LIMIT, packet);
            return;
        }
        switch (flow.state()) {
            case ALLOWED -> {
                up(packet);
            }
            case PENDING -> {
                ByteBuf first = flow.isNew() ? packet.retainedDuplicate() : null; // quoted if the gate refuses
                flows.hold(flow, packet);
                if (first != null) {
                    ask(flow, p, first);
                }
            }
            case DENIED -> {
                prohibited(packet, p);
                drop(VpnDrop.DENIED, packet);
            }
        }
    }

    private boolean fromDeviceAddress(IpPacket p) {
        if (p.ipVersion() == 4) {
            return p.sourceHigh() == 0 && p.sourceLow() == deviceLow;
        }
        return addressing.device6() != null && p.sourceHigh() == device6High && p.sourceLow() == device6Low;
    }

    /**
     * Multicast, broadcast or IPv6 link-local destinations, and unspecified or IPv6 link-local
     * sources: the laptop's own network chatter (MLD reports, router solicitations, duplicate
     * address detection, mDNS) that no gateway routes; dropped without asking the gate, so it fills
     * neither the trail (as denials or as spoofing) nor the ICMP allowance.
     */
    private static boolean localScope(IpPacket p) {
        if (p.ipVersion() == 4) {
            int v4 = (int) p.destinationLow();
            return (v4 >>> 28) == 0xE || v4 == -1 || p.sourceLow() == 0;
        }
        long high = p.destinationHigh();
        long source = p.sourceHigh();
        return (high >>> 56) == 0xFF || (high >>> 54) == 0x3FA
                || (source >>> 54) == 0x3FA || (source == 0 && p.sourceLow() == 0);
    }

    private void spoofed(IpPacket p) {
        long now = nanos.getAsLong();
        spoofPending++;
        if (spoofClaimed == null) {
            spoofClaimed = NetUtil.toAddressString(p.source());
        }
        if (!spoofRecorded || now - lastSpoofRecordNanos >= SPOOF_RECORD_EVERY.toNanos()) {
            recordSpoofed(now);
        }
    }

    private void recordSpoofed(long now) {
        String claimed = spoofClaimed;
        long count = spoofPending;
        spoofPending = 0;
        spoofClaimed = null;
        spoofRecorded = true;
        lastSpoofRecordNanos = now;
        workers.execute(() -> audit.spoofed(session, claimed, count));
    }

    // ---- the gate ----

    /** The first packet of a new flow: the gate on a worker, then the verdict back on the loop. */
    private void ask(Flow flow, IpPacket p, ByteBuf first) {
        int protocol = p.protocol();
        InetAddress dest = p.destination();
        int port = p.hasTransportHeader() && !p.isIcmp() ? p.destinationPort() : 0;
        String name = flow.key().protocolName();
        String innerSource = p.isIcmp() ? NetUtil.toAddressString(p.source())
                : HostPort.format(NetUtil.toAddressString(p.source()), p.sourcePort());
        String destText = p.isIcmp() ? NetUtil.toAddressString(dest) : HostPort.format(NetUtil.toAddressString(dest), port);
        Runnable gate = () -> {
            GateDecision decision = decide(protocol, dest, port);
            switch (decision) {
                case GateDecision.Pass pass -> {
                    VpnAudit.Opened o = new VpnAudit.Opened(UUID.randomUUID().toString(), name, innerSource, destText,
                            pass.flow().rule(), pass.lease().until().toString(), pass.grounds(), audit.clock().instant(),
                            pass.flow().until());
                    GateDecision.Refusal refused = open(o);
                    if (refused == null) {
                        if (o.windowEnd() != null) {
                            session.windowed(o.windowEnd(), pass.device().groups());
                        }
                        first.release();
                        loop.execute(() -> allowed(flow, o));
                    } else {
                        audit.denied(session, refused, name, innerSource, destText);
                        loop.execute(() -> denied(flow, first));
                    }
                }
                case GateDecision.Refusal r -> {
                    audit.denied(session, r, name, innerSource, destText);
                    loop.execute(() -> denied(flow, first));
                }
            }
        };
        try {
            workers.execute(gate);
        } catch (RejectedExecutionException e) {
            first.release(); // the gateway is stopping: the flow stays pending until its session ends
        }
    }

    private GateDecision decide(int protocol, InetAddress dest, int port) {
        try {
            return gate.openFlow(protocol, dest, port);
        } catch (RuntimeException e) {
            LOG.error("{}: the gate failed on a VPN flow to {}", session, dest, e);
            return new GateDecision.Refusal(Reasons.INTERNAL_ERROR, "the gate failed: " + e);
        }
    }

    /** Counts the flow in the session and writes {@code flow.open} durably (on a worker); null when it may open. */
    private GateDecision.@Nullable Refusal open(VpnAudit.Opened o) {
        if (!session.tryAddFlow()) {
            return new GateDecision.Refusal(Reasons.SESSION_ENDED, "the VPN session ended while flow " + o.destAddress()
                    + " was admitted");
        }
        try {
            audit.flowOpen(session, o);
            return null;
        } catch (AuditUnavailableException e) {
            session.flowGone();
            return new GateDecision.Refusal(Reasons.AUDIT_UNAVAILABLE, "flow.open of VPN flow to " + o.destAddress()
                    + " could not be recorded (audit.failMode: closed): " + e.getMessage());
        }
    }

    private void allowed(Flow flow, VpnAudit.Opened o) {
        if (endedHow != null || flows.get(flow.key()) != flow) {
            // the session ended, or the flow was swept, while its flow.open was written: close it at once
            close(flow, o, endedHow != null ? endedHow : EndReason.IDLE.auditName());
            return;
        }
        opened.put(flow, o);
        List<ByteBuf> held = flows.allow(flow, nanos.getAsLong());
        for (ByteBuf packet : held) {
            up(packet);
        }
        flush();
    }

    private void denied(Flow flow, ByteBuf first) {
        try {
            if (endedHow == null) {
                flows.deny(flow, nanos.getAsLong());
                if (parser.parse(first)) {
                    prohibited(first, parser);
                }
                count(VpnDrop.DENIED, Math.max(1, flow.packetsFromDevice()));
                flush();
            }
        } finally {
            first.release();
        }
    }

    /** ICMP administratively prohibited about {@code packet}, to the device, within the rate limit. */
    private void prohibited(ByteBuf packet, IpPacket p) {
        InetAddress from = gatewayAddress(p.ipVersion());
        if (from == null || !icmpAllowed()) {
            return;
        }
        ByteBuf icmp = IcmpAnswers.administrativelyProhibited(packet, p, from, alloc);
        if (icmp != null) {
            toLink(icmp);
        }
    }

    private boolean icmpAllowed() {
        long now = nanos.getAsLong();
        if (now - icmpWindowStart >= 1_000_000_000L) {
            icmpWindowStart = now;
            icmpInWindow = 0;
        }
        return icmpInWindow++ < ICMP_PER_SECOND;
    }

    private @Nullable InetAddress gatewayAddress(int ipVersion) {
        return ipVersion == 4 ? addressing.gateway() : addressing.gateway6();
    }

    // ---- toward the device ----

    /**
     * Sends a ROUTE_ADVERTISEMENT (on the loop) when {@code routes} differ from what the device was
     * last told; it replaces the earlier set (RFC 9484 §4.7.3).
     */
    void advertise(List<IpAddressRange> routes) {
        loop.execute(() -> {
            if (endedHow != null || routes.equals(advertised)) {
                return;
            }
            advertised = List.copyOf(routes);
            link.sendStream(CapsuleEncoder.encode(new Capsule.RouteAdvertisement(advertised), alloc));
            link.flush();
        });
    }

    /** Hands a batch from the TUN reader to this engine's event loop, as one task (ownership passes here). */
    void deliver(List<ByteBuf> packets) {
        try {
            loop.execute(() -> toDevice(packets));
        } catch (RuntimeException e) { // the loop is shutting down
            packets.forEach(ByteBuf::release);
        }
    }

    /** A batch the TUN reader found for this device (on the loop; ownership passes here). */
    void toDevice(List<ByteBuf> packets) {
        for (ByteBuf packet : packets) {
            toDevice(packet);
        }
        flush();
    }

    private void toDevice(ByteBuf packet) {
        if (endedHow != null) {
            drop(VpnDrop.UNDELIVERABLE, packet);
            return;
        }
        IpPacket p = parser;
        if (!p.parse(packet)) {
            drop(VpnDrop.MALFORMED, packet);
            return;
        }
        if (p.length() > mtu && !Fragmenter.mayFragment(p)) {
            tooBigTowardAdmin(packet, p);
            return;
        }
        if (flows.toDevice(p, nanos.getAsLong()) == null) {
            drop(VpnDrop.NO_FLOW, packet);
            return;
        }
        if (p.length() > mtu) {
            fragmentToDevice(packet, p);
            return;
        }
        int length = packet.readableBytes();
        if (!toLink(packet)) {
            // the parser still describes this packet: the datagram did not fit the link now
            tooBigTowardAdmin(packet, p);
            return;
        }
        counters.packetsDown.increment();
        counters.bytesDown.add(length);
    }

    /**
     * An IPv4 packet of an allowed flow, larger than the tunnel and without DF: the gateway is the
     * router onto the narrower link, so it fragments (RFC 791) and the device reassembles. Takes
     * ownership of {@code packet}.
     */
    private void fragmentToDevice(ByteBuf packet, IpPacket p) {
        List<ByteBuf> fragments;
        try {
            fragments = Fragmenter.fragment(packet, p, mtu, alloc);
        } finally {
            packet.release();
        }
        for (ByteBuf fragment : fragments) {
            int length = fragment.readableBytes();
            if (!toLink(fragment)) {
                drop(VpnDrop.UNDELIVERABLE, fragment); // QUIC cannot take even the tunnel MTU now
                continue;
            }
            counters.packetsDown.increment();
            counters.bytesDown.add(length);
        }
    }

    /** ICMP packet too big toward the admin host that sent {@code packet}, through the egress; drops it. */
    private void tooBigTowardAdmin(ByteBuf packet, IpPacket p) {
        InetAddress from = gatewayAddress(p.ipVersion());
        if (from != null) {
            ByteBuf icmp = IcmpAnswers.packetTooBig(packet, p, from, Math.max(mtu, p.ipVersion() == 6 ? 1280 : 68), alloc);
            if (icmp != null) {
                egress.write(icmp);
            }
        }
        drop(VpnDrop.TOO_BIG, packet);
    }

    /**
     * Sends one IP packet to the device: an HTTP/3 datagram (context id 0 in front) or an HTTP/2
     * DATAGRAM capsule. False (the packet kept, not sent) when the datagram is too large for QUIC now.
     */
    private boolean toLink(ByteBuf packet) {
        pendingWrites = true;
        if (!datagrams) {
            link.sendStream(CapsuleEncoder.ipPacketCapsule(packet, alloc));
            return true;
        }
        if (packet.readableBytes() + 1 > link.maxDatagramPayload()) {
            return false;
        }
        IpLink.DatagramResult result = link.sendDatagram(HttpDatagrams.ipPacketPayload(packet, alloc));
        if (result != IpLink.DatagramResult.QUEUED) {
            count(VpnDrop.UNDELIVERABLE, 1);
        }
        return true;
    }

    /** Sends what this batch queued on the link: one flush per batch, not per packet. */
    private void flush() {
        if (pendingWrites) {
            pendingWrites = false;
            link.flush();
        }
    }

    private void drop(VpnDrop reason, ByteBuf packet) {
        count(reason, 1);
        packet.release();
    }

    private void count(VpnDrop reason, long n) {
        drops.addAndGet(reason.ordinal(), n);
        counters.dropped(reason, n);
    }

    /** A packet of an allowed flow leaves for the admin network. */
    private void up(ByteBuf packet) {
        counters.packetsUp.increment();
        counters.bytesUp.add(packet.readableBytes());
        egress.write(packet);
    }

    // ---- time and the end ----

    /**
     * Once a second on the loop: idle flows end ({@code flow.close}), fragments of datagrams not
     * complete in time go, a silent link ends the session.
     */
    void sweep() {
        if (endedHow != null) {
            return;
        }
        long now = nanos.getAsLong();
        reassembler.expire(now);
        for (EndedFlow e : flows.sweep(now)) {
            VpnAudit.Opened o = opened.remove(e.flow());
            if (o != null) {
                close(e.flow(), o, e.reason().auditName());
            }
        }
        if (spoofPending > 0 && now - lastSpoofRecordNanos >= SPOOF_RECORD_EVERY.toNanos()) {
            recordSpoofed(now);
        }
        if (now - lastKeepaliveNanos >= KEEPALIVE_EVERY.toNanos()) {
            lastKeepaliveNanos = now;
            link.sendStream(CapsuleEncoder.encode(new Capsule.Unknown(KEEPALIVE_CAPSULE_TYPE, new byte[0]), alloc));
            link.flush();
        }
        if (now - lastHeardNanos >= SILENCE_LIMIT.toNanos()) {
            LOG.info("{}: nothing from the device for {} s; closing its VPN link", session, SILENCE_LIMIT.toSeconds());
            endWithSession(SessionEnd.IDLE);
        }
    }

    /**
     * Ends, with {@code outside_hours} (on the loop), every flow whose admitting rule's window has
     * closed by {@code now} ({@code access.endSessionsAtWindowEnd}): its permission is withdrawn, so
     * its next packet asks the gate again and is refused {@code access.outside_hours}. Flows of
     * always-open rules, and the link, go on.
     */
    void closeOutsideHours(Instant now) {
        loop.execute(() -> {
            if (endedHow != null) {
                return;
            }
            int cut = 0;
            for (Map.Entry<Flow, VpnAudit.Opened> e : List.copyOf(opened.entrySet())) {
                Instant end = e.getValue().windowEnd();
                if (end != null && !now.isBefore(end) && flows.withdraw(e.getKey())) {
                    opened.remove(e.getKey());
                    close(e.getKey(), e.getValue(), FlowEnd.OUTSIDE_HOURS.wireName());
                    cut++;
                }
            }
            if (cut > 0) {
                LOG.info("{}: ended {} VPN flow(s) at the end of their window of remote-work hours", session, cut);
            }
        });
    }

    /** Ends this link's flows ({@code how}) and closes it without ending the session: the device opened another. */
    void stop(String how) {
        loop.execute(() -> end(how));
    }

    @Override
    public void onClose(String why) {
        if (endedHow == null) { // not our own close: the device went away, or the link broke
            endWithSession(SessionEnd.CLIENT_CLOSED);
        }
    }

    /**
     * Ends the session for {@code reason} and this link with the session's own reason: when the
     * session had ended already (a revocation whose task is still queued on this loop), its reason
     * is what the flows' {@code flow.close} says, not this one.
     */
    private void endWithSession(SessionEnd reason) {
        session.end(reason, null);
        SessionEnd why = session.ended();
        end((why == null ? reason : why).flowEnd().wireName());
    }

    /** The session ended ({@code how} its flows' end): every flow closed and recorded, the link closed, the address given back. */
    private void end(String how) {
        if (endedHow != null) {
            return;
        }
        endedHow = how;
        reassembler.close();
        if (spoofPending > 0) {
            recordSpoofed(nanos.getAsLong());
        }
        for (EndedFlow e : flows.closeAll()) {
            VpnAudit.Opened o = opened.remove(e.flow());
            if (o != null) {
                close(e.flow(), o, e.reason() == EndReason.SESSION_END ? how : e.reason().auditName());
            }
        }
        capsules.close();
        link.close(how);
        onGone.run();
    }

    /** {@code flow.close} on a worker, then the flow leaves the session's count (so {@code session.end} comes after). */
    private void close(Flow flow, VpnAudit.Opened o, String how) {
        VpnAudit.Counts counts = new VpnAudit.Counts(flow.bytesFromDevice(), flow.bytesToDevice(),
                flow.packetsFromDevice(), flow.packetsToDevice());
        Runnable record = () -> {
            try {
                session.relayed(true, counts.bytesUp());
                session.relayed(false, counts.bytesDown());
                audit.flowClose(session, o, counts, how);
            } finally {
                session.flowGone();
            }
        };
        try {
            workers.execute(record);
        } catch (RejectedExecutionException e) {
            record.run(); // the gateway is stopping: record it on this thread rather than lose it (as FlowRegistry does)
        }
    }

    @Override
    public String toString() {
        return "VPN engine of " + session + " at " + addressing.device().getHostAddress();
    }
}
