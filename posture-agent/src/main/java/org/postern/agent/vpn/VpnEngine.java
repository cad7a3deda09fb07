package org.postern.agent.vpn;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Network;
import org.postern.vpn.capsule.AddressEntry;
import org.postern.vpn.capsule.Capsule;
import org.postern.vpn.capsule.CapsuleDecoder;
import org.postern.vpn.capsule.CapsuleEncoder;
import org.postern.vpn.capsule.CapsuleException;
import org.postern.vpn.capsule.HttpDatagrams;
import org.postern.vpn.link.LinkAddress;
import org.postern.vpn.link.LinkConfig;
import org.postern.vpn.link.TunMtu;
import org.postern.vpn.packet.IcmpAnswers;
import org.postern.vpn.packet.IpPacket;
import org.postern.vpn.tun.TunDevice;
import org.postern.vpn.transport.IpLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open VPN link on the laptop (docs/vpn.md "The laptop"): applies what the gateway's capsules
 * say to the TUN interface — ADDRESS_ASSIGN → its address, ROUTE_ADVERTISEMENT → its routes (a
 * later one replaces the earlier set), then the pushed DNS — and moves packets between the TUN
 * device and the link, keeping the link alive with a grease capsule every 10 s.
 *
 * <p><b>Threads.</b> Packet work runs on the link's event loop ({@link IpLink}): a batch read from
 * the TUN device is one task there, and so is every callback from the link, so the decoder, the
 * scratch buffer and the counters have one writer. Interface, route and DNS changes run commands
 * that take milliseconds: they run in order on {@code config}, never on the event loop.
 */
final class VpnEngine implements IpLink.Receiver {
    private static final Logger log = LoggerFactory.getLogger(VpnEngine.class);
    /** The contract's keepalive: a reserved capsule type 0x29 × 1 + 0x17 (RFC 9297 §5.4), empty. */
    static final long GREASE_TYPE = 0x40;
    static final Duration KEEPALIVE = Duration.ofSeconds(10);
    static final Duration DEAD_AFTER = Duration.ofSeconds(45);
    /** The QUIC payload both ends assume on HTTP/3 (as built). */
    static final int H3_UDP_PAYLOAD = 1452;
    /** The MTU over HTTP/2 (the contract). */
    static final int H2_MTU = 1400;
    /** Bytes kept free before a packet so the context id and the link's header need no copy. */
    static final int HEADROOM = 16;

    private final IpLink link;
    private final EventLoop loop;
    private final TunDevice tun;
    private final LinkConfig links;
    private final VpnHost host;
    private final Executor config;
    private final Consumer<String> say;
    private final Runnable changed;
    private final ByteBufAllocator alloc;
    private final Clock clock;
    private final @Nullable InetAddress gateway;
    private final boolean dnsWanted;
    private final List<InetAddress> dnsServers;
    private final List<String> searchDomains;
    private final Duration keepalive;
    private final Duration deadAfter;
    private final int mtu;
    private final CompletableFuture<String> done = new CompletableFuture<>();

    // the event loop's
    private final CapsuleDecoder decoder;
    private final ByteBuffer scratch;
    private long lastHeard;
    private @Nullable ScheduledFuture<?> keepaliveTask;
    private volatile boolean closed;
    private volatile long bytesUp;
    private volatile long packetsUp;
    private volatile long bytesDown;
    private volatile long packetsDown;
    private volatile long dropped;

    // the config executor's
    private volatile List<LinkAddress> addresses = List.of();
    private volatile List<Network> routes = List.of();
    private @Nullable List<Network> pendingRoutes;
    private @Nullable Network pinned;
    private boolean dnsApplied;
    private volatile @Nullable Instant upSince;
    private volatile List<InetAddress> dnsShown = List.of();

    /** Settings of one engine beyond its link. */
    record Options(@Nullable InetAddress gateway, boolean dns, Duration keepalive, Duration deadAfter) {
        static Options of(@Nullable InetAddress gateway, boolean dns) {
            return new Options(gateway, dns, KEEPALIVE, DEAD_AFTER);
        }
    }

    VpnEngine(ConnectIpAnswer answer, TunDevice tun, LinkConfig links, VpnHost host, Executor config,
              Consumer<String> say, Runnable changed, ByteBufAllocator alloc, Clock clock, Options options) {
        this.link = answer.link();
        this.loop = answer.loop();
        this.tun = tun;
        this.links = links;
        this.host = host;
        this.config = config;
        this.say = say;
        this.changed = changed;
        this.alloc = alloc;
        this.clock = clock;
        this.gateway = options.gateway();
        this.dnsWanted = options.dns();
        this.dnsServers = answer.dnsServers();
        this.searchDomains = answer.searchDomains();
        this.keepalive = options.keepalive();
        this.deadAfter = options.deadAfter();
        this.mtu = mtu(link);
        // not the MTU: a route advertisement of a large policy is a capsule far longer than a packet
        this.decoder = new CapsuleDecoder(alloc, CapsuleDecoder.MAX_CONNECT_IP_CAPSULE);
        this.scratch = ByteBuffer.allocateDirect(mtu + 256);
    }

    /** The contract's MTU rule: HTTP/3 → what one QUIC datagram carries; HTTP/2 → 1400. */
    static int mtu(IpLink link) {
        if (!IpLink.H3.equals(link.transport())) {
            return H2_MTU;
        }
        int base = TunMtu.fromUdpPayload(H3_UDP_PAYLOAD).mtu();
        int max = link.maxDatagramPayload();
        return max > TunMtu.IPV4_MINIMUM ? Math.min(base, max - 1) : base;
    }

    int mtu() {
        return mtu;
    }

    /** Starts receiving from the link and sending keepalives. */
    void start() {
        try {
            loop.execute(() -> {
                lastHeard = System.nanoTime();
                keepaliveTask = loop.scheduleAtFixedRate(this::keepalive, keepalive.toMillis(), keepalive.toMillis(),
                        TimeUnit.MILLISECONDS);
                link.setReceiver(this);
            });
        } catch (RejectedExecutionException e) {
            closed = true; // the link ended before it could be used
            config.execute(() -> teardown("connection lost"));
        }
    }

    /** Completes with why the link ended, once its routes, address and DNS are taken away. */
    CompletableFuture<String> done() {
        return done;
    }

    /** Ends the link; {@link #done()} completes once the interface is cleared. */
    void close(String why) {
        link.close(why);
    }

    boolean isClosed() {
        return closed;
    }

    /** What {@code status} shows, or empty before the interface is configured. */
    Optional<VpnStatus> status() {
        Instant since = upSince;
        if (since == null || closed) {
            return Optional.empty();
        }
        return Optional.of(new VpnStatus(addresses.stream().map(a -> RoutePrefixes.text(a.address())).toList(),
                link.transport(), mtu, routes.stream().map(RoutePrefixes::text).toList(),
                dnsShown.stream().map(RoutePrefixes::text).toList(), dnsShown.isEmpty() ? List.of() : searchDomains,
                bytesUp, packetsUp, bytesDown, packetsDown, dropped, since));
    }

    // ---- TUN → link ------------------------------------------------------------------------

    /** Sends a batch read from the TUN device: one event-loop task, one flush; then recycles it. */
    void send(PacketBatch batch) {
        try {
            loop.execute(() -> {
                try {
                    if (!closed) {
                        for (int i = 0; i < batch.count; i++) {
                            sendPacket(batch.packet(i));
                        }
                        link.flush();
                    }
                } finally {
                    batch.recycle();
                }
            });
        } catch (RejectedExecutionException e) {
            batch.recycle(); // the link's event loop is gone (its connection ended): the packets are lost with it
        }
    }

    private void sendPacket(ByteBuffer packet) {
        int length = packet.remaining();
        boolean h3 = IpLink.H3.equals(link.transport());
        int max = link.maxDatagramPayload();
        int limit = h3 && max > 0 ? Math.min(mtu, max - 1) : mtu; // 0: no datagrams now, sendDatagram says so
        ByteBuf buf = alloc.directBuffer(HEADROOM + length);
        buf.writerIndex(HEADROOM).readerIndex(HEADROOM);
        buf.writeBytes(packet);
        if (length > limit) {
            tooBig(buf, Math.max(limit, TunMtu.IPV4_MINIMUM), true);
            return;
        }
        bytesUp += length;
        packetsUp++;
        if (h3) {
            buf.setByte(HEADROOM - 1, (int) HttpDatagrams.IP_PACKET_CONTEXT_ID);
            buf.readerIndex(HEADROOM - 1);
            IpLink.DatagramResult r = link.sendDatagram(buf);
            if (r != IpLink.DatagramResult.QUEUED) {
                dropped++;
            }
        } else {
            link.sendStream(CapsuleEncoder.ipPacketCapsule(buf, alloc));
        }
    }

    /**
     * Answers a packet larger than the tunnel carries with ICMP "fragmentation needed" / "packet too
     * big" toward its sender (into the TUN for the laptop's own packets, over the link for the
     * gateway's), and drops it. Releases {@code packet}.
     */
    private void tooBig(ByteBuf packet, int nextHopMtu, boolean fromLaptop) {
        try {
            dropped++;
            IpPacket parsed = new IpPacket();
            if (!parsed.parse(packet)) {
                return;
            }
            InetAddress from = own(parsed.ipVersion());
            if (from == null || (parsed.ipVersion() == 6 && nextHopMtu < TunMtu.IPV6_MINIMUM)) {
                return;
            }
            ByteBuf answer = IcmpAnswers.packetTooBig(packet, parsed, from, nextHopMtu, alloc);
            if (answer == null) {
                return;
            }
            if (fromLaptop) {
                try {
                    writeToTun(answer);
                } finally {
                    answer.release();
                }
            } else if (IpLink.H3.equals(link.transport())) {
                ByteBuf payload = alloc.directBuffer(1 + answer.readableBytes()).writeByte(0).writeBytes(answer);
                answer.release();
                link.sendDatagram(payload);
                link.flush();
            } else {
                link.sendStream(CapsuleEncoder.ipPacketCapsule(answer, alloc));
                link.flush();
            }
        } finally {
            packet.release();
        }
    }

    private @Nullable InetAddress own(int ipVersion) {
        for (LinkAddress a : addresses) {
            if ((ipVersion == 4) == (a.address() instanceof Inet4Address)) {
                return a.address();
            }
        }
        return null;
    }

    // ---- link → TUN ------------------------------------------------------------------------

    @Override
    public void onStream(ByteBuf bytes) {
        lastHeard = System.nanoTime();
        if (closed) {
            bytes.release();
            return;
        }
        try {
            decoder.decode(bytes, this::capsule);
        } catch (CapsuleException e) {
            say.accept("VPN: the gateway's capsule stream is malformed (" + e.getMessage() + "); closing it");
            link.close("malformed capsule stream");
        }
    }

    @Override
    public void onDatagram(ByteBuf payload) {
        lastHeard = System.nanoTime();
        datagram(payload);
    }

    private void capsule(Capsule capsule) {
        switch (capsule) {
            case Capsule.Datagram d -> datagram(d.payload());
            case Capsule.AddressAssign a -> config.execute(() -> configure(() -> assign(a.addresses())));
            case Capsule.RouteAdvertisement r -> {
                List<Network> advertised = RoutePrefixes.of(r.ranges());
                config.execute(() -> configure(() -> routes(advertised)));
            }
            case Capsule.AddressRequest ignored -> { } // the gateway asks the laptop for nothing
            case Capsule.Unknown ignored -> { } // RFC 9297 §3.2: skip (keepalives among them)
        }
    }

    /** One HTTP datagram payload: context id 0 → its IP packet into the TUN; anything else dropped. */
    private void datagram(ByteBuf payload) {
        try {
            if (closed) {
                return;
            }
            long context;
            try {
                context = HttpDatagrams.readContextId(payload);
            } catch (CapsuleException e) {
                dropped++;
                return;
            }
            if (context != HttpDatagrams.IP_PACKET_CONTEXT_ID) {
                dropped++;
                return;
            }
            int length = payload.readableBytes();
            if (length > mtu) {
                tooBig(payload.retain(), mtu, false);
                return;
            }
            bytesDown += length;
            packetsDown++;
            writeToTun(payload);
        } finally {
            payload.release();
        }
    }

    /** Writes the packet at {@code packet}'s readable bytes into the TUN device (not released here). */
    private void writeToTun(ByteBuf packet) {
        try {
            if (packet.isDirect() && packet.nioBufferCount() == 1) {
                tun.write(packet.nioBuffer());
            } else {
                scratch.clear();
                packet.getBytes(packet.readerIndex(), scratch.limit(packet.readableBytes()));
                scratch.flip();
                tun.write(scratch);
            }
        } catch (IOException | RuntimeException e) {
            dropped++;
            log.debug("VPN: packet not written to {}: {}", tun.name(), e.getMessage());
        }
    }

    // ---- keepalive and end -----------------------------------------------------------------

    private void keepalive() {
        if (closed) {
            return;
        }
        if (System.nanoTime() - lastHeard > deadAfter.toNanos()) {
            link.close("nothing from the gateway for " + deadAfter.toSeconds() + " s");
            return;
        }
        link.sendStream(CapsuleEncoder.encode(new Capsule.Unknown(GREASE_TYPE, new byte[0]), alloc));
        link.flush();
    }

    @Override
    public void onClose(String why) {
        closed = true;
        if (keepaliveTask != null) {
            keepaliveTask.cancel(false);
        }
        decoder.close();
        config.execute(() -> teardown(why));
    }

    private void teardown(String why) {
        try {
            host.restoreDns();
        } catch (IOException | RuntimeException e) {
            say.accept("VPN: DNS not restored: " + e.getMessage());
        }
        try {
            links.removeRoutes(tun.name(), routes);
            if (pinned != null) {
                host.unpinRoute(pinned);
            }
            host.down(tun.name());
        } catch (IOException | RuntimeException e) {
            say.accept("VPN: " + tun.name() + " not fully cleared: " + e.getMessage());
        }
        routes = List.of();
        addresses = List.of();
        pinned = null;
        upSince = null;
        say.accept("VPN down: " + shown(why));
        changed.run();
        done.complete(why);
    }

    /** The transport's own words for a stream that simply ended say nothing the user can act on. */
    static String shown(String why) {
        return why.startsWith("the peer ") || why.startsWith("the stream ") ? "connection lost" : why;
    }

    // ---- interface configuration (on the config executor) --------------------------------

    private interface Step {
        void run() throws IOException;
    }

    private void configure(Step step) {
        if (closed) {
            return;
        }
        try {
            step.run();
        } catch (IOException | RuntimeException e) {
            say.accept("VPN: cannot configure " + tun.name() + ": " + e.getMessage());
            link.close("cannot configure " + tun.name());
        }
    }

    private void assign(List<AddressEntry> entries) throws IOException {
        List<LinkAddress> wanted = new ArrayList<>();
        for (AddressEntry e : entries) {
            if (e.address().isAnyLocalAddress()) {
                continue; // a refusal: nothing to assign
            }
            if (e.address() instanceof Inet4Address) {
                wanted.add(new LinkAddress(e.address(), 32)); // peer-less /32: routes go via the device
            } else if (e.address() instanceof Inet6Address && mtu >= TunMtu.IPV6_MINIMUM) {
                wanted.add(new LinkAddress(e.address(), 128));
            }
        }
        if (wanted.equals(addresses)) {
            return;
        }
        if (!addresses.isEmpty()) {
            host.down(tun.name()); // a changed assignment: start the interface over
        }
        links.up(tun.name(), mtu);
        for (LinkAddress a : wanted) {
            links.addAddress(tun.name(), a);
        }
        addresses = List.copyOf(wanted);
        List<Network> again = pendingRoutes != null ? pendingRoutes : routes;
        routes = List.of();
        if (!again.isEmpty() || pendingRoutes != null) {
            routes(again);
        }
    }

    private void routes(List<Network> all) throws IOException {
        if (addresses.isEmpty()) {
            pendingRoutes = all; // no address yet: the routes wait for it
            return;
        }
        pendingRoutes = null;
        // a family without an address on the interface (no IPv6 pool, or an MTU below 1280) cannot use its routes
        List<Network> advertised = all.stream().filter(n -> own(n.address() instanceof Inet4Address ? 4 : 6) != null).toList();
        List<Network> stale = new ArrayList<>(routes);
        stale.removeAll(advertised);
        links.removeRoutes(tun.name(), stale);
        links.addRoutes(tun.name(), advertised);
        routes = List.copyOf(advertised);
        boolean covered = gateway != null && advertised.stream().anyMatch(n -> n.contains(gateway));
        if (covered && pinned == null) {
            pinned = host.pinRoute(gateway).orElse(null);
        } else if (!covered && pinned != null) {
            host.unpinRoute(pinned);
            pinned = null;
        }
        if (upSince == null) {
            if (dnsWanted && !dnsServers.isEmpty() && !dnsApplied) {
                try {
                    String how = host.applyDns(tun.name(), dnsServers, searchDomains);
                    dnsApplied = true;
                    dnsShown = dnsServers;
                    log.info("VPN DNS set through {}", how);
                } catch (IOException | RuntimeException e) { // the tunnel works without it: names just resolve as before
                    say.accept("VPN: DNS not set: " + e.getMessage());
                }
            }
            upSince = clock.instant();
            say.accept("VPN up over " + (IpLink.H3.equals(link.transport()) ? "HTTP/3" : "HTTP/2") + " as "
                    + String.join(" ", addresses.stream().map(a -> RoutePrefixes.text(a.address())).toList())
                    + " (MTU " + mtu + "); routes " + list(routes.stream().map(RoutePrefixes::text).toList())
                    + "; DNS " + dnsText());
        } else {
            say.accept("VPN routes now " + list(routes.stream().map(RoutePrefixes::text).toList()));
        }
        changed.run();
    }

    private String dnsText() {
        if (dnsShown.isEmpty()) {
            return "none";
        }
        String servers = String.join(", ", dnsShown.stream().map(RoutePrefixes::text).toList());
        return searchDomains.isEmpty() ? servers : servers + " (search " + String.join(", ", searchDomains) + ")";
    }

    private static String list(List<String> items) {
        return items.isEmpty() ? "none" : String.join(", ", items);
    }
}
