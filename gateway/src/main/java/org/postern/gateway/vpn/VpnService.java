package org.postern.gateway.vpn;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.util.NetUtil;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Who;
import org.postern.gateway.policy.AddressRange;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.session.VpnLink;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.HostPort;
import org.postern.protocol.Reasons;
import org.postern.vpn.capsule.AddressEntry;
import org.postern.vpn.capsule.Capsule;
import org.postern.vpn.capsule.CapsuleEncoder;
import org.postern.vpn.capsule.IpAddressRange;
import org.postern.vpn.flow.FlowTimeouts;
import org.postern.vpn.packet.Addresses;
import org.postern.vpn.packet.IpPacket;
import org.postern.vpn.pool.AddressPool;
import org.postern.vpn.pool.AddressPoolException;
import org.postern.vpn.pool.Lease;
import org.postern.vpn.transport.IpLink;
import org.postern.vpn.tun.TunDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VPN mode's acceptor: admits a CONNECT-IP request (the gate's identity, device and lease
 * checks, an address from {@code vpn.pool}, the connection's session with {@code via: vpn}), answers
 * 200 with the DNS headers, sends ADDRESS_ASSIGN and ROUTE_ADVERTISEMENT, and runs a
 * {@link VpnEngine} for the link until its session ends. Owns the egress TUN and its reader.
 */
public final class VpnService implements ConnectIpAcceptor, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(VpnService.class);

    /** Response header: the resolvers the device should use for the internal zone (contract). */
    public static final String DNS_HEADER = "postern-vpn-dns";
    /** Response header: the search domains (contract). */
    public static final String SEARCH_HEADER = "postern-vpn-search";

    /** The parts of {@code TunnelGate} the VPN asks (an interface, so tests can stand in for the registry). */
    public interface Gate {
        GateDecision admit(Who who);

        GateDecision openFlow(Who who, int ipProtocol, InetAddress dest, int port);
    }

    private final GatewaySettings.Vpn settings;
    private final AddressPool pool;
    private final Gate gate;
    private final Sessions sessions;
    private final AuditSink audit;
    private final VpnAudit vpnAudit;
    private final Clock clock;
    private final Executor workers;
    private final Supplier<@Nullable FlowPolicy> policy;
    private final TunEgress egress;
    private final @Nullable EgressSetup nat;
    private final FlowTimeouts timeouts;
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private final VpnCounters counters = new VpnCounters();
    private final Map<String, VpnEngine> byDevice = new ConcurrentHashMap<>();
    private final Map<InetAddress, VpnEngine> byAddress = new ConcurrentHashMap<>();
    private final Map<VpnEngine, Routing> routing = new ConcurrentHashMap<>();
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("vpn-routes").daemon().factory());
    private volatile @Nullable FlowPolicy advertisedPolicy;

    /** How often the rules are checked for a change that alters the routes (a reload). */
    static final Duration READVERTISE_EVERY = Duration.ofSeconds(2);

    VpnService(GatewaySettings.Vpn settings, AddressPool pool, TunDevice tun, @Nullable EgressSetup nat, Gate gate,
               Sessions sessions, AuditSink audit, Clock clock, Executor workers, Supplier<@Nullable FlowPolicy> policy) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.gate = Objects.requireNonNull(gate, "gate");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.nat = nat;
        this.vpnAudit = new VpnAudit(audit, clock);
        this.egress = new TunEgress(tun, this::engineOf, alloc);
        GatewaySettings.Vpn.IdleTimeouts idle = settings.idleTimeouts();
        FlowTimeouts d = FlowTimeouts.defaults();
        this.timeouts = new FlowTimeouts(idle.tcp(), idle.tcpClosing(), d.tcpHalfOpen(), idle.udp(), idle.icmp(), d.other(),
                d.denialMemory());
    }

    /**
     * Opens the egress (IP forwarding checked, the TUN {@code vpn.interface} with the pool's first
     * address, NAT when {@code vpn.nat}) and starts its reader.
     *
     * @param namespace the network namespace of the egress, or null for the gateway's own
     * @throws IOException when forwarding is off, the TUN cannot be opened (CAP_NET_ADMIN), or nft is missing
     */
    public static VpnService start(GatewaySettings.Vpn settings, @Nullable String namespace, Gate gate, Sessions sessions,
                                   AuditSink audit, Clock clock, Executor workers, Supplier<@Nullable FlowPolicy> policy)
            throws IOException {
        AddressPool pool = AddressPool.of(settings.pool().toString(),
                settings.pool6() == null ? null : settings.pool6().toString());
        EgressSetup setup = new EgressSetup(namespace);
        TunDevice tun = setup.open(settings, pool);
        VpnService service = new VpnService(settings, pool, tun, settings.nat() ? setup : null, gate, sessions, audit, clock,
                workers, policy);
        service.egress.start();
        service.ticker.scheduleWithFixedDelay(() -> service.workers.execute(service::readvertise),
                READVERTISE_EVERY.toMillis(), READVERTISE_EVERY.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("VPN egress {} up: {} (gateway {}){}{}", tun.name(), settings.pool(), pool.gatewayAddress().getHostAddress(),
                settings.pool6() == null ? "" : ", " + settings.pool6(), settings.nat() ? ", NAT on" : "");
        return service;
    }

    /** The egress interface's name, as the kernel gave it. */
    public String interfaceName() {
        return egress.name();
    }

    /** Live VPN links (metrics). */
    public int links() {
        return byDevice.size();
    }

    /** Packets, bytes and drops across sessions (metrics). */
    public VpnCounters counters() {
        return counters;
    }

    AddressPool pool() {
        return pool;
    }

    @Override
    public void onRequest(ConnectIpRequest request) {
        workers.execute(() -> admit(request));
    }

    /** On a worker: the gate, an address, the session, then the 200 and the engine. */
    void admit(ConnectIpRequest r) {
        ClientIdentity id = r.device();
        String source = HostPort.format(NetUtil.toAddressString(r.source().getAddress()), r.source().getPort());
        Who who = Who.device(id.deviceId(), source);
        GateDecision.Pass pass;
        switch (gate.admit(who)) {
            case GateDecision.Refusal refusal -> {
                refuse(r, refusal, source);
                return;
            }
            case GateDecision.Pass p -> pass = p;
        }
        Lease lease;
        try {
            lease = pool.assign(id.deviceId());
        } catch (AddressPoolException e) {
            refuse(r, new GateDecision.Refusal(Reasons.VPN_POOL_EXHAUSTED, e.getMessage(), pass.user(), null), source);
            return;
        }
        VpnLink vpnLink = new VpnLink(lease.ipv4(), lease.ipv6(), r.transport());
        Session session;
        try {
            session = sessions.admit(r.connection(), new Session.Who(id.deviceId(), pass.user(), id.serialHex(), id.sha256(),
                    source, "vpn"), pass.grounds(), vpnLink);
        } catch (AuditUnavailableException e) {
            releaseIfUnused(id.deviceId());
            refuse(r, new GateDecision.Refusal(Reasons.AUDIT_UNAVAILABLE, "session.start of VPN device " + id.deviceId()
                    + " could not be recorded (audit.failMode: closed): " + e.getMessage(), pass.user(), null), source);
            return;
        }
        IpLink link = r.accept(headers());
        EventLoop loop = r.connection().eventLoop();
        VpnEngine.Addressing addressing = new VpnEngine.Addressing(lease.ipv4(), lease.ipv6(), pool.gatewayAddress(),
                pool.gatewayAddress6().orElse(null));
        AtomicReference<VpnEngine> self = new AtomicReference<>();
        AtomicReference<ScheduledFuture<?>> sweep = new AtomicReference<>();
        VpnEngine engine = new VpnEngine(link, loop, workers, (protocol, dest, port) -> gate.openFlow(who, protocol, dest, port),
                vpnAudit, session, addressing, egress, timeouts, settings.maxFlowsPerSession(), System::nanoTime, alloc,
                counters, () -> {
                    ScheduledFuture<?> f = sweep.get();
                    if (f != null) {
                        f.cancel(false);
                    }
                    gone(id.deviceId(), self.get(), lease);
                });
        self.set(engine);
        VpnEngine old = byDevice.put(id.deviceId(), engine);
        byAddress.put(lease.ipv4(), engine);
        if (lease.ipv6() != null) {
            byAddress.put(lease.ipv6(), engine);
        }
        if (old != null) { // the device came back on a new link: the old one's flows end, its address stays
            old.stop(FlowEnd.CLIENT_CLOSED.wireName());
        }
        link.sendStream(CapsuleEncoder.encode(new Capsule.AddressAssign(assigned(lease)), alloc));
        link.flush();
        boolean full = r.fullTunnelAsked() && settings.fullTunnel();
        routing.put(engine, new Routing(pass.groups(), full));
        engine.advertise(routes(pass.groups(), full));
        engine.start();
        sweep.set(loop.scheduleAtFixedRate(engine::sweep, 1, 1, TimeUnit.SECONDS));
        LOG.info("{}: VPN up over {} as {}", session, r.transport(), vpnLink.addresses());
    }

    /** The link's engine left: its addresses go back to the pool unless a newer link of the device holds them. */
    private void gone(String deviceId, VpnEngine engine, Lease lease) {
        routing.remove(engine);
        byAddress.remove(lease.ipv4(), engine);
        if (lease.ipv6() != null) {
            byAddress.remove(lease.ipv6(), engine);
        }
        if (byDevice.remove(deviceId, engine)) {
            pool.release(deviceId);
        }
    }

    private void releaseIfUnused(String deviceId) {
        if (!byDevice.containsKey(deviceId)) {
            pool.release(deviceId);
        }
    }

    private @Nullable VpnEngine engineOf(IpPacket packet) {
        return byAddress.get(Addresses.toInetAddress(packet.ipVersion(), packet.destinationHigh(), packet.destinationLow()));
    }

    private Map<String, String> headers() {
        Map<String, String> h = new LinkedHashMap<>();
        if (!settings.dns().isEmpty()) {
            h.put(DNS_HEADER, settings.dns().stream().map(NetUtil::toAddressString).collect(Collectors.joining(", ")));
        }
        if (!settings.searchDomains().isEmpty()) {
            h.put(SEARCH_HEADER, String.join(", ", settings.searchDomains()));
        }
        return h;
    }

    private static List<AddressEntry> assigned(Lease lease) {
        List<AddressEntry> entries = new ArrayList<>();
        entries.add(new AddressEntry(0, lease.ipv4(), 32));
        if (lease.ipv6() != null) {
            entries.add(new AddressEntry(0, lease.ipv6(), 128));
        }
        return entries;
    }

    /**
     * On a worker, every {@link #READVERTISE_EVERY}: when the rules changed (a reload), each live
     * link whose routes changed is sent its new ROUTE_ADVERTISEMENT.
     */
    void readvertise() {
        FlowPolicy now = policy.get();
        if (now == advertisedPolicy) {
            return;
        }
        advertisedPolicy = now;
        routing.forEach((engine, r) -> engine.advertise(routes(r.groups(), r.fullTunnel())));
    }

    /** What a link's routes are computed from. */
    private record Routing(Set<String> groups, boolean fullTunnel) {
    }

    /** The split tunnel's ranges for the device's groups, or everything for a full tunnel. */
    private List<IpAddressRange> routes(Set<String> groups, boolean fullTunnel) {
        List<IpAddressRange> out = new ArrayList<>();
        boolean six = settings.pool6() != null;
        if (fullTunnel) {
            out.add(new IpAddressRange(InetAddress.ofLiteral("0.0.0.0"), InetAddress.ofLiteral("255.255.255.255"), 0));
            if (six) {
                out.add(new IpAddressRange(InetAddress.ofLiteral("::"),
                        InetAddress.ofLiteral("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0));
            }
            return out;
        }
        FlowPolicy rules = policy.get();
        if (rules == null) {
            return out;
        }
        FlowPolicy.Routes routes = rules.routes(groups);
        for (AddressRange r : routes.ipv4()) {
            out.add(new IpAddressRange(r.start(), r.end(), 0));
        }
        if (six) {
            for (AddressRange r : routes.ipv6()) {
                out.add(new IpAddressRange(r.start(), r.end(), 0));
            }
        }
        return out;
    }

    private void refuse(ConnectIpRequest r, GateDecision.Refusal refusal, String source) {
        ClientIdentity id = r.device();
        try {
            audit.record(AuditEvent.of("access.denied", clock.instant())
                    .with("device", id.deviceId())
                    .with("user", refusal.user())
                    .with("certSerial", id.serialHex())
                    .with("certSha256", id.sha256())
                    .with("source", source)
                    .with("via", "vpn")
                    .with("reason", refusal.code())
                    .with("detail", refusal.detail())
                    .build());
        } catch (AuditUnavailableException e) {
            LOG.error("access.denied {} of VPN device {} could not be recorded: {}", refusal.code(), id.deviceId(),
                    e.getMessage());
        }
        r.refuse(refusal.httpStatus(), refusal.code(), refusal.message());
    }

    /**
     * Ends every VPN flow whose window of remote-work hours has closed by now on the gateway's clock
     * ({@code access.endSessionsAtWindowEnd}; the gateway calls this every second while it is on).
     */
    public void closeOutsideHours() {
        Instant now = clock.instant();
        for (VpnEngine engine : byDevice.values()) {
            try {
                engine.closeOutsideHours(now);
            } catch (RejectedExecutionException stopping) {
                // its loop is shutting down with the gateway: the link ends with gateway_shutdown anyway
            }
        }
    }

    /** Stops the egress (the sessions end through {@code Sessions.shutdown}) and removes the NAT table. */
    @Override
    public void close() throws IOException {
        ticker.shutdownNow();
        egress.close();
        if (nat != null) {
            try {
                nat.removeNat();
            } catch (IOException e) {
                LOG.warn("removing the VPN's nftables table failed: {}", e.getMessage());
            }
        }
    }
}
