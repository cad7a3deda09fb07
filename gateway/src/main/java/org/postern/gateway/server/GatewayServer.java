package org.postern.gateway.server;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.siem.SiemForwarder;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.config.HostPort;
import org.postern.config.PkiSettings;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.admin.AdminApiHandler;
import org.postern.gateway.admin.AdminListener;
import org.postern.gateway.console.ConsoleHandler;
import org.postern.gateway.console.ConsoleServices;
import org.postern.gateway.console.TrailConsoleAudit;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.charter.CharterHandler;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.gate.Who;
import org.postern.gateway.limits.BadRequestHandler;
import org.postern.gateway.limits.LimitAudit;
import org.postern.gateway.limits.PeerErrorHandler;
import org.postern.gateway.limits.RefusalThrottle;
import org.postern.gateway.proxy.ProxyAudit;
import org.postern.gateway.proxy.ProxyStages;
import org.postern.gateway.limits.SourceLimitHandler;
import org.postern.gateway.metrics.GatewayMetrics;
import org.postern.gateway.metrics.HandshakeMetricsHandler;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.policy.OwnAddresses;
import org.postern.gateway.posture.ChallengeStore;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.gateway.posture.PostureHandler;
import org.postern.gateway.posture.PostureService;
import org.postern.gateway.relay.ConnectHandler;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.relay.FlowRegistry;
import org.postern.gateway.relay.RelaySettings;
import org.postern.gateway.tls.DeviceTrustManager;
import org.postern.gateway.vpn.ConnectIpAcceptor;
import org.postern.gateway.vpn.ConnectIpListener;
import org.postern.gateway.vpn.VpnService;
import org.postern.gateway.tls.LiveRevocations;
import org.postern.gateway.session.SessionDirectory;
import org.postern.gateway.session.SessionEnd;
import org.postern.gateway.session.SessionRecovery;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.reload.ConfigReloader;
import org.postern.gateway.reload.LiveSettings;
import org.postern.gateway.reload.ReloadTriggers;
import org.postern.gateway.session.SessionInfo;
import org.postern.gateway.ssh.SshBastion;
import org.postern.gateway.ssh.SshCertificateHandler;
import org.postern.net.Transport;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.crl.CrlHandler;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.est.EstHandler;
import org.postern.protocol.http.NotFoundHandler;
import org.postern.pki.ocsp.OcspHandler;
import org.postern.pki.ocsp.OcspResponder;
import org.postern.pki.registry.Registries;
import org.postern.pki.registry.Registry;
import org.postern.pki.ssh.SshUserCa;
import org.postern.protocol.posture.PostureEvaluator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code postern gateway run}: the PKI data directory (CA unlocked, registry), the audit trail,
 * and one TLS listener on {@code listeners.tunnel} serving EST/CRL/OCSP, posture and CONNECT
 * ({@link GatewayInitializer}). Blocking work (registry, audit, DNS) runs on a worker pool.
 */
public final class GatewayServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GatewayServer.class);
    /** Audited when the revocation view went stale: every client certificate is refused (docs/audit.md). */
    static final String REGISTRY_UNAVAILABLE = "registry.unavailable";
    /** Audited when the view was read again after going stale. */
    static final String REGISTRY_AVAILABLE = "registry.available";

    private final List<AutoCloseable> resources; // closed in reverse order
    private final EventLoopGroup group;
    private final ExecutorService workers;
    private final ChannelGroup children;
    private final Channel channel;
    private final CertificateAuthority ca;
    private final Sessions sessions;
    private final Admin admin;
    private final SshBastion bastion;
    private final AtomicBoolean endsRecorded; // set by close(): gateway.stop may be written
    private final Transport transport;

    /** The admin side: listener, meters, live settings and their reloader (null without a file). */
    private record Admin(AdminListener listener, GatewayMetrics metrics, LiveSettings live, ConfigReloader reloader) {
    }

    /**
     * What {@code postern gateway run} (or a test) adds to the settings.
     *
     * @param configFile the file the settings came from: enables reload (SIGHUP, file watch, {@code POST /v1/reload}); or null
     * @param sighup     reload on SIGHUP (one process-wide handler; the CLI sets it, tests choose)
     * @param sessions   the live sessions for the admin API; null: the gateway's own
     * @param vpn        a stand-in for the VPN engine (tests of the transport): CONNECT-IP requests go to
     *                   this acceptor, over HTTP/3 on UDP at the tunnel listener's address and over HTTP/2
     *                   on the tunnel listener, whatever {@code vpn.enabled} says; null: the engine
     *                   ({@link VpnService}) when {@code vpn.enabled}, else off
     */
    public record Options(Path configFile, boolean sighup, SessionDirectory sessions, ConnectIpAcceptor vpn) {
        public static final Options DEFAULTS = new Options(null, false, null, null);

        public Options withConfigFile(Path file, boolean sighup) {
            return new Options(file, sighup, sessions, vpn);
        }

        public Options withSessions(SessionDirectory sessions) {
            return new Options(configFile, sighup, sessions, vpn);
        }

        /** Turns the VPN mode's transport on (docs/vpn.md "Transports"). */
        public Options withVpn(ConnectIpAcceptor acceptor) {
            return new Options(configFile, sighup, sessions, acceptor);
        }
    }

    private GatewayServer(List<AutoCloseable> resources, EventLoopGroup group, ExecutorService workers,
                          ChannelGroup children, Channel channel, CertificateAuthority ca, Sessions sessions, Admin admin,
                          SshBastion bastion, AtomicBoolean endsRecorded, Transport transport) {
        this.resources = resources;
        this.group = group;
        this.workers = workers;
        this.children = children;
        this.channel = channel;
        this.ca = ca;
        this.sessions = sessions;
        this.admin = admin;
        this.bastion = bastion;
        this.endsRecorded = endsRecorded;
        this.transport = transport;
    }

    public static GatewayServer start(GatewaySettings settings, KeyProtection protection) throws IOException, InterruptedException {
        return start(settings, protection, Clock.systemUTC(), new SecureRandom());
    }

    public static GatewayServer start(GatewaySettings settings, KeyProtection protection, Clock clock, SecureRandom random)
            throws IOException, InterruptedException {
        return start(settings, protection, clock, random, Options.DEFAULTS);
    }

    public static GatewayServer start(GatewaySettings settings, KeyProtection protection, Clock clock, SecureRandom random,
                                      Options options) throws IOException, InterruptedException {
        // chosen once, before anything opens: a transport named in gateway.yaml that this host lacks stops the start
        Transport transport;
        try {
            transport = Transport.choose(settings.transport());
        } catch (IllegalStateException e) {
            throw new IOException(e.getMessage(), e);
        }
        List<AutoCloseable> resources = new ArrayList<>();
        ExecutorService workers = Executors.newFixedThreadPool(Math.max(4, 2 * Runtime.getRuntime().availableProcessors()),
                Thread.ofPlatform().name("gateway-worker-", 0).daemon().factory());
        resources.add(workers::shutdownNow);
        try {
            Path dataDir = settings.dataDir();
            PkiSettings pki = settings.pki().settings(); // gateway.yaml pki.settings: the same pki.yaml as `pki serve`
            // the PKI data directory: CA (unlocked as `pki serve` does) and the device registry
            CaStore store = new CaStore(dataDir);
            if (!store.exists()) {
                throw new IOException("no CA in " + dataDir + "; create one with: postern pki init --dir " + dataDir);
            }
            CertificateAuthority ca = store.load(protection, clock.instant(), random, pki.certificates().ocspResponderLifetime());
            // registry.url: the SQLite file in dataDir, or the PostgreSQL several gateways share
            Registry registry = Registries.open(settings.registry(), dataDir, clock);
            resources.add(registry);
            OpenedTrail opened = openTrail(settings, random, resources);
            AuditTrail audit = opened.trail();
            GatewaySettings.Audit a = settings.audit();
            // what a previous run that did not stop cleanly left open is closed first (docs/audit.md);
            // gateway.stop, written just before the trail closes, says this run left nothing open
            SessionRecovery.recover(audit, clock);
            AtomicBoolean endsRecorded = new AtomicBoolean();
            resources.add(() -> SessionRecovery.stopped(audit, clock, endsRecorded.get()));
            // what unauthenticated peers cause: a few records a minute per source, the rest counted
            RefusalThrottle refusals = RefusalThrottle.of(audit, clock, workers);
            resources.add(refusals); // closed before the trail: writes the open counts

            CrlPublisher crl = new CrlPublisher(ca, registry, store.crlFile(), pki.revocation().crlValidity(), clock);
            // DATA/ca/crl.der signed now if missing or half-way through, and kept so while the gateway runs
            resources.add(crl.keepFresh(e -> log.error("cannot re-sign the CRL {}: {}", store.crlFile(), e.toString())));
            PkiService service = new PkiService(() -> ca, registry, audit, pki, clock, random, () -> crl);
            // fails closed after registry.maxStale without a read; each transition is audited once
            LiveRevocations revocations = LiveRevocations.start(registry, clock, LiveRevocations.DEFAULT_POLL,
                    settings.registry().maxStale(), (available, detail) -> audit.recordOrDefer(
                            AuditEvent.of(available ? REGISTRY_AVAILABLE : REGISTRY_UNAVAILABLE, clock.instant())
                                    .with("detail", detail).build()));
            resources.add(revocations);
            DeviceTrustManager deviceTrust = new DeviceTrustManager(ca.chain(), revocations, refusals, clock, workers);

            // what a reload may change: access and posture policy, TLS certificate and key (ListenerTls)
            InetSocketAddress listen = settings.listeners().tunnel().socketAddress();
            // the gateway's own addresses, refused like loopback: re-read every OwnAddresses.REFRESH and on reload
            OwnAddresses own = OwnAddresses.ofHost(listen.getAddress() == null ? Set.of() : Set.of(listen.getAddress()));
            resources.add(own.refreshEvery(OwnAddresses.REFRESH));
            ForbiddenAddresses forbidden = new ForbiddenAddresses(own);
            GatewayMetrics metrics = new GatewayMetrics();
            ListenerTls snapshots = new ListenerTls(settings, service, ca, deviceTrust, forbidden, clock);
            LiveSettings live;
            try {
                live = new LiveSettings(snapshots.build(settings));
            } catch (java.security.GeneralSecurityException e) {
                throw new IOException(e.getMessage(), e);
            }

            // posture: challenges, leases; a lease that ends (not renewed) cuts the device's flows
            FlowRegistry flows = new FlowRegistry(refusals, workers, clock, new RelaySettings(
                    RelaySettings.DEFAULTS.connectTimeout(), settings.limits().idleTimeout(), RelaySettings.DEFAULTS.closeGrace()));
            AtomicReference<SshBastion> bastionRef = new AtomicReference<>();
            LeaseStore leases = new LeaseStore(clock, (lease, end) -> {
                switch (end) {
                    case RENEWED -> { }
                    // ended by a decision: a non-compliant renewal, or a device found barred while proving
                    // posture (a revocation or suspension has usually cut it as revoked/suspended already)
                    case ENDED -> closeDevice(flows, bastionRef.get(), lease.deviceId(), FlowEnd.NON_COMPLIANT);
                    case EXPIRED, EVICTED -> closeDevice(flows, bastionRef.get(), lease.deviceId(), FlowEnd.LEASE_ENDED);
                }
            });
            // a device revoked or suspended (by any process sharing the registry): its flows and lease end
            revocations.onBarred((device, why) -> {
                closeDevice(flows, bastionRef.get(), device, why);
                leases.end(device);
            });
            // sessions: session.start durable before a connection's first tunnel; closeAll ends them too
            Sessions sessions = new Sessions(audit, workers, clock, flows,
                    device -> leases.current(device).map(Lease::until).orElse(null), a.failMode(),
                    settings.limits().flowsPerDevice());
            PostureService posture = new PostureService(live.posturePolicy(), new PostureEvaluator(),
                    new ChallengeStore(random, clock), leases, registry, audit, clock);
            posture.onDecision(metrics::postureDecision);

            // access: the configured rules (live); the gateway's own addresses are refused like loopback
            AccessPolicy policy = live.accessPolicy();
            DestinationResolver resolver = DestinationResolver.system(forbidden);

            // the SSH bastion on listeners.ssh, trusting only the SSH user CA in dataDir (docs/ssh.md)
            SshUserCa sshCa = SshUserCa.loadOrCreate(dataDir, protection, random);
            SshBastion bastion;
            try {
                bastion = SshBastion.start(SshBastion.Config.of(settings), sshCa.publicKey(), registry, leases,
                        resolver, policy, audit, clock, workers, random, live.charter());
            } catch (IOException e) {
                throw bindFailed(e, "ssh", settings.listeners().ssh().socketAddress());
            }
            resources.add(bastion);
            bastionRef.set(bastion);

            // the one admission gate of CONNECT and the SSH certificate request (docs/pipeline.md)
            // one flow policy for the gate and the VPN's routes: host-name rules resolved once per snapshot, so
            // the routes a device is given and the flows the gate lets through come from the same addresses
            Supplier<@Nullable FlowPolicy> flowPolicy = live.flowPolicy(forbidden, DestinationResolver.Lookup.SYSTEM, clock);
            // with the remote-work charter in force (charter:, live): its version must be accepted (charter.not_accepted)
            TunnelGate gate = new TunnelGate(registry, leases, resolver, policy, flowPolicy, live.charter());
            // VPN mode (docs/vpn.md "The gateway's engine"): the egress TUN, NAT and the engine, when vpn.enabled
            ConnectIpAcceptor vpnAcceptor = options.vpn();
            if (vpnAcceptor == null && settings.vpn().enabled()) {
                VpnService vpn = VpnService.start(settings.vpn(), null, new VpnService.Gate() {
                    @Override
                    public GateDecision admit(Who who) {
                        return gate.admit(who);
                    }

                    @Override
                    public GateDecision openFlow(Who who, int ipProtocol, InetAddress dest, int port) {
                        return gate.openFlow(who, ipProtocol, dest, port);
                    }
                }, sessions, audit, clock, workers, flowPolicy);
                resources.add(vpn);
                metrics.bindVpn(vpn::links, vpn.counters());
                vpnAcceptor = vpn;
            }
            // remote-work hours: with access.endSessionsAtWindowEnd, a CONNECT tunnel, SSH forward or VPN flow admitted
            // by a rule's window ends with it, and so does a session none of whose rules is open any more (checked
            // every second on the gateway's clock; docs/gateway.md "Remote-work hours")
            ScheduledExecutorService windowEnds = Executors
                    .newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("postern-window-ends").factory());
            resources.add(windowEnds::shutdownNow);
            VpnService vpnFlows = vpnAcceptor instanceof VpnService v ? v : null;
            flows.accessSettings(() -> live.current().settings().access());
            windowEnds.scheduleWithFixedDelay(() -> {
                try {
                    AccessRules access = live.current().settings().access();
                    if (access.endSessionsAtWindowEnd()) {
                        sweepWindowEnds(access, clock.instant(), sessions, bastion, flows, vpnFlows);
                    }
                } catch (RuntimeException e) { // a failed sweep must not cancel the next ones
                    log.error("ending tunnels at the end of their window of hours failed: {}", e.toString());
                }
            }, 1, 1, TimeUnit.SECONDS);
            GatewayInitializer.Shared shared = new GatewayInitializer.Shared(
                    new EstHandler(service, ca.chain(), workers), new CrlHandler(crl, workers),
                    new OcspHandler(new OcspResponder(ca, registry, clock), workers), new PostureHandler(posture, workers),
                    new ConnectHandler(gate, flows, sessions), new NotFoundHandler(),
                    new SshCertificateHandler(sshCa, gate, audit, clock, workers, List.of(bastion.hostKey())),
                    new CharterHandler(live.charter(), registry, audit, clock, workers));
            // limits: connections per source (before TLS), request head time and size, body size
            LimitAudit limitAudit = new LimitAudit(refusals, workers, clock);
            GatewayInitializer.Guards guards = new GatewayInitializer.Guards(
                    new SourceLimitHandler(settings.limits().connectionsPerSource(), Duration.ofSeconds(10), limitAudit),
                    new BadRequestHandler(limitAudit, settings.limits().headerSize().bytes()), limitAudit,
                    settings.limits().headerTime(), new PeerErrorHandler("tunnel", workers));
            resources.add(guards.peerErrors()); // logs the open counts
            ChannelGroup children = new DefaultChannelGroup("gateway-connections", GlobalEventExecutor.INSTANCE);
            // after its flows (ended with their reason above): the barred device's connections, idle ones too
            revocations.closeBarredConnections(children);
            // fail closed: after registry.maxStale without a read (audited above) nothing stays up here — a
            // revocation made meanwhile through another gateway or the CLI cannot be seen (docs/gateway.md)
            revocations.failClosed(children, () -> endEverything(sessions, flows, bastion));
            int maxHeader = Math.toIntExact(settings.limits().headerSize().bytes());
            int maxBody = Math.toIntExact(pki.enrollment().maxRequestSize().bytes());
            EventLoopGroup group = transport.newGroup(0);
            try {
                // the relay's outbound sockets are of the same transport, on the laptop's event loop (TunnelConnector)
                ChannelFuture binding = new ServerBootstrap().group(group).channel(transport.serverChannel())
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        .childHandler(vpnOn(new GatewayInitializer(live.tunnelTls(), new HandshakeMetricsHandler(metrics, "tunnel"),
                                revocations, refusals, clock, workers, maxHeader, maxBody, shared, children, guards)
                                .streamsPerConnection(settings.limits().streamsPerConnection())
                                .proxyProtocol(new ProxyStages(settings.proxyProtocol(),
                                        new ProxyAudit("tunnel", refusals, workers, clock))), vpnAcceptor))
                        .bind(listen).await();
                if (!binding.isSuccess()) {
                    throw bindFailed(binding.cause(), "tunnel", listen);
                }
                Channel ch = binding.channel();
                InetSocketAddress bound = (InetSocketAddress) ch.localAddress();
                // VPN mode (issue 13): CONNECT-IP over HTTP/3 on UDP at vpn.listen, by default the tunnel
                // listener's host and the port it bound (the agent dials its gateway URL's port over UDP)
                if (vpnAcceptor != null) {
                    InetSocketAddress h3 = settings.vpn().enabled() && !settings.vpn().listen().equals(settings.listeners().tunnel())
                            ? settings.vpn().listen().socketAddress() : bound;
                    ConnectIpListener vpn = ConnectIpListener.start(h3, snapshots.current().key(),
                            serverChain(snapshots.current().certificate(), ca), deviceTrust, vpnAcceptor);
                    resources.add(vpn);
                    revocations.closeBarredConnections(vpn.connections()); // a barred device's QUIC connections close at once
                    revocations.failClosed(vpn.connections(), () -> { }); // its sessions end with the tunnel listener's
                }
                log.info("gateway {} listening on https://{}:{} (transport {})", settings.id(), bound.getHostString(),
                        bound.getPort(), transport);
                ConfigReloader.SnapshotFactory reload = next -> {
                    own.refresh(); // a reload re-reads the host's addresses too
                    return snapshots.build(next);
                };
                Admin admin = startAdmin(settings, transport, options, live, reload, metrics, registry, audit, flows,
                        new AllSessions(sessions, bastion), clock, workers, resources,
                        new ConsoleParts(service, ca, random, opened.siem()));
                return new GatewayServer(resources, group, workers, children, ch, ca, sessions, admin, bastion, endsRecorded,
                        transport);
            } catch (IOException | InterruptedException | RuntimeException e) {
                // awaited: a socket bound before the failure is free again when the start reports it (on epoll and
                // io_uring the close completes on the event loop, after this thread would have returned)
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
                throw e;
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            closeAll(resources);
            throw e;
        }
    }

    /** What the console needs besides what the API has. */
    private record ConsoleParts(PkiService service, CertificateAuthority ca, SecureRandom random, @Nullable SiemForwarder siem) {
    }

    /** The audit trail and its SIEM forwarding, null when none is configured (the console shows its lag). */
    private record OpenedTrail(AuditTrail trail, @Nullable SiemForwarder siem) {
    }

    /** The admin listener with the console, the meters and reload (docs/gateway.md "Admin API", "Metrics", "Reload"; docs/console.md). */
    private static Admin startAdmin(GatewaySettings settings, Transport transport, Options options, LiveSettings live,
                                    ConfigReloader.SnapshotFactory snapshots, GatewayMetrics metrics,
                                    Registry registry, AuditTrail audit, FlowRegistry flows, SessionDirectory own, Clock clock,
                                    ExecutorService workers, List<AutoCloseable> resources, ConsoleParts parts)
            throws IOException, InterruptedException {
        SessionDirectory sessions = options.sessions() != null ? options.sessions() : own;
        metrics.bindSessions(() -> sessions.sessions().size());
        metrics.bindFlows(flows::size);
        metrics.bindBytesRelayed(flows::bytesRelayedUp, flows::bytesRelayedDown);
        metrics.bindAuditQueue(audit::queueDepth);
        ConfigReloader reloader = null;
        if (options.configFile() != null) {
            reloader = new ConfigReloader(options.configFile(), live, snapshots, audit, clock, metrics::reload);
            resources.add(ReloadTriggers.start(reloader, options.sighup(), true));
        }
        AdminApiHandler.Services services = new AdminApiHandler.Services(settings.id(), sessions, metrics, reloader,
                audit::available, audit::unavailableReason, flows::size, audit, clock, workers);
        TrailConsoleAudit trail = new TrailConsoleAudit(settings.id(), audit, settings.dataDir().resolve("audit.pub"),
                parts.siem() == null ? null : parts.siem()::status, clock);
        resources.add(trail);
        Path configDir = options.configFile() == null ? Path.of("").toAbsolutePath()
                : options.configFile().toAbsolutePath().getParent();
        // the console's own small pool: an export, a verification or a slow browser never holds a thread the
        // tunnels' handshakes, posture and EST need; when it is full, the console answers 503
        java.util.concurrent.ThreadPoolExecutor consoleWorkers = new java.util.concurrent.ThreadPoolExecutor(2, 2, 0,
                TimeUnit.MILLISECONDS, new java.util.concurrent.ArrayBlockingQueue<>(16),
                Thread.ofPlatform().name("postern-console-", 0).daemon().factory());
        resources.add(consoleWorkers::shutdownNow);
        ConsoleHandler console = new ConsoleHandler(new ConsoleServices(settings.id(), parts.service(), sessions, live, reloader,
                audit, trail, enrollUrl(settings.listeners().tunnel()), parts.ca().rootSha256(), configDir, clock,
                consoleWorkers, parts.random()));
        AdminListener listener;
        try {
            listener = AdminListener.start(transport, settings.listeners().admin().socketAddress(), live.adminTls(),
                    registry, audit, clock, workers, services, console);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) { // Netty's sync() rethrows a bind failure (a checked BindException) undeclared
            throw bindFailed(e, "admin", settings.listeners().admin().socketAddress());
        }
        return new Admin(listener, metrics, live, reloader);
    }

    /**
     * The URL a laptop enrolls with, as the console prints it: the tunnel listener, or this host's
     * name when it listens on every address (behind a load balancer, the operator substitutes its name).
     */
    static String enrollUrl(HostPort tunnel) {
        String host = tunnel.host();
        if (host.equals("0.0.0.0") || host.equals("::") || host.isEmpty()) {
            try {
                host = java.net.InetAddress.getLocalHost().getCanonicalHostName();
            } catch (java.net.UnknownHostException e) {
                host = "localhost";
            }
        }
        return "https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + tunnel.port();
    }

    /**
     * A listener's start failure as an {@link IOException}: a bind failure becomes a {@link BindException}
     * naming the listener, its address and its setting ({@code tunnel listener 127.0.0.1:8443: address
     * already in use (listeners.tunnel)}); an unchecked failure is rethrown as it is.
     */
    private static IOException bindFailed(Throwable failure, String listener, InetSocketAddress at) {
        Optional<BindException> bind = Transport.bindFailure(failure); // the JDK's, or a native transport's
        if (bind.isPresent()) {
            BindException b = bind.get();
            String why = b.getMessage() == null || b.getMessage().isEmpty() ? "cannot bind" : b.getMessage();
            BindException named = new BindException(listener + " listener " + at.getHostString() + ":" + at.getPort()
                    + ": " + why.substring(0, 1).toLowerCase(Locale.ROOT) + why.substring(1) + " (listeners." + listener + ")");
            named.initCause(failure);
            return named;
        }
        return switch (failure) {
            case IOException io -> io;
            case RuntimeException r -> throw r;
            case Error r -> throw r;
            default -> new IOException(listener + " listener " + at.getHostString() + ":" + at.getPort() + ": " + failure, failure);
        };
    }

    /** The audit trail, signed with dataDir/audit.key (audit.pub beside it for auditors), and its SIEM forwarding. */
    private static OpenedTrail openTrail(GatewaySettings settings, SecureRandom random, List<AutoCloseable> resources)
            throws IOException {
        Path dataDir = settings.dataDir();
        AuditKeys keys = AuditKeys.loadOrCreate(dataDir.resolve("audit.key"), random);
        keys.exportPublicKey(dataDir.resolve("audit.pub"));
        GatewaySettings.Audit a = settings.audit();
        Files.createDirectories(a.dir());
        AuditTrail audit = new AuditTrail(a.dir(), AuditTrailConfig.defaults(settings.id())
                .withMinFreeBytes(a.minFree().bytes()).withCheckpointInterval(a.checkpointInterval()), keys);
        resources.add(audit);
        SiemForwarder siem = null;
        if (a.siem() != null) { // forwarding to a SIEM reads the trail's files; closed before the trail
            siem = SiemForwarder.start(audit, a.siem());
            resources.add(siem);
        }
        return new OpenedTrail(audit, siem);
    }

    /** VPN mode: the HTTP/2 side of CONNECT-IP when there is an acceptor. */
    private static GatewayInitializer vpnOn(GatewayInitializer initializer, @Nullable ConnectIpAcceptor vpn) {
        return vpn == null ? initializer : initializer.connectIp(vpn);
    }

    private static List<X509Certificate> serverChain(X509Certificate leaf, CertificateAuthority ca) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(leaf);
        chain.addAll(ca.chain());
        return chain;
    }

    /** Where the admin listener is bound. */
    public InetSocketAddress adminAddress() {
        return admin.listener().address();
    }

    /** The gateway's meters. */
    public GatewayMetrics metrics() {
        return admin.metrics();
    }

    /** The live settings (policies and TLS contexts in force now). */
    public LiveSettings liveSettings() {
        return admin.live();
    }

    /** Reloads the configuration file now; null when started without one. */
    public ConfigReloader reloader() {
        return admin.reloader();
    }

    /** Where the tunnel listener is bound (the real port when 0 was asked). */
    /** The Netty transport of every socket this gateway opens ({@code transport} in gateway.yaml, resolved). */
    public Transport transport() {
        return transport;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** The SSH bastion on {@code listeners.ssh}: its address; {@code closeDevice} for lease ends and revocations. */
    public SshBastion bastion() {
        return bastion;
    }

    /** The unlocked CA (its chain is what devices and curl trust). */
    public CertificateAuthority ca() {
        return ca;
    }

    /** The live sessions: list them, end one (the admin API). */
    public SessionDirectory sessions() {
        return sessions;
    }

    public void awaitClose() throws InterruptedException {
        channel.closeFuture().sync();
    }

    @Override
    public void close() {
        admin.listener().close();
        channel.close().awaitUninterruptibly();
        // sessions end as gateway_shutdown, their session.end written before the trail closes
        boolean ended = sessions.shutdown(Duration.ofSeconds(3));
        // connections first, while the executors their pipelines use are alive
        children.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        workers.shutdown();
        try {
            ended &= workers.awaitTermination(2, TimeUnit.SECONDS); // flow.close and session.end run on workers
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ended = false;
        }
        endsRecorded.set(ended);
        closeAll(resources);
    }

    /** A device must go: its tunnels and sessions on the tunnel listener, and its SSH sessions. */
    private static void closeDevice(FlowRegistry flows, SshBastion bastion, String device, FlowEnd why) {
        flows.closeAll(device, why);
        if (bastion != null) {
            bastion.closeDevice(device, why);
        }
    }

    /**
     * The revocation view went stale: every session on this gateway ends as {@code registry_unavailable} —
     * tunnel and VPN sessions with their flows and connections, the flows of no session, SSH sessions.
     */
    private static void endEverything(Sessions sessions, FlowRegistry flows, SshBastion bastion) {
        int ended = sessions.endAll(SessionEnd.REGISTRY_UNAVAILABLE);
        int cut = flows.closeEvery(FlowEnd.REGISTRY_UNAVAILABLE);
        int ssh = bastion.closeAll(FlowEnd.REGISTRY_UNAVAILABLE);
        log.warn("registry unreadable for registry.maxStale: ended {} sessions, {} more flows, {} SSH sessions (fail closed)",
                ended, cut, ssh);
    }

    /**
     * One pass of the remote-work-hours sweep (docs/gateway.md "Remote-work hours"): sessions first,
     * then CONNECT tunnels, SSH forwards and VPN flows. Each step is tried on its own
     * ({@link #runEach}): one that throws is logged by name and the others still run, so a fault in one
     * path never leaves the others' windowed flows open past their end, every second.
     */
    private static void sweepWindowEnds(AccessRules access, Instant now, Sessions sessions, SshBastion bastion,
                                        FlowRegistry flows, @Nullable VpnService vpnFlows) {
        int ended = runEach(List.of(
                new SweepStep("tunnel sessions", () -> sessions.endOutsideHours(now, groups -> access.anyOpenFor(groups, now))),
                new SweepStep("SSH sessions", () -> bastion.endOutsideHours(now, groups -> access.anyOpenFor(groups, now)))));
        // every step as of the same instant: a window ending between two steps must not cut a forward
        // (and with it the client's connection) before its session step saw the end
        List<SweepStep> cuts = new ArrayList<>(List.of(
                new SweepStep("CONNECT tunnels", () -> flows.closeOutsideHours(now)),
                new SweepStep("SSH forwards", () -> bastion.closeOutsideHours(now))));
        if (vpnFlows != null) {
            cuts.add(new SweepStep("VPN flows", () -> { // each link logs what it ended
                vpnFlows.closeOutsideHours();
                return 0;
            }));
        }
        int cut = runEach(cuts);
        if (cut > 0 || ended > 0) {
            log.info("ended {} tunnel(s) and {} session(s) at the end of their window of remote-work hours", cut, ended);
        }
    }

    /** A step of the sweep: what it ends (for the log) and how; {@code run} answers how many it ended. */
    record SweepStep(String name, IntSupplier run) {
        SweepStep {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(run, "run");
        }
    }

    /**
     * Runs every step, each in its own try: a step that throws is logged with its name and counts
     * nothing, and the steps after it still run.
     *
     * @return how many the steps ended, together
     */
    static int runEach(List<SweepStep> steps) {
        int total = 0;
        for (SweepStep step : steps) {
            try {
                total += step.run().getAsInt();
            } catch (RuntimeException e) {
                log.error("ending {} at the end of their window of hours failed (the other steps ran): {}", step.name(),
                        e.toString());
            }
        }
        return total;
    }

    /** The admin API's view: sessions on the tunnel listener and on the SSH bastion. */
    private record AllSessions(Sessions tunnels, SshBastion ssh) implements SessionDirectory {
        @Override
        public List<SessionInfo> sessions() {
            List<SessionInfo> all = new ArrayList<>(tunnels.sessions());
            all.addAll(ssh.sessions());
            all.sort(java.util.Comparator.comparing(SessionInfo::since));
            return all;
        }

        @Override
        public boolean kill(String sessionId, String by) {
            return tunnels.kill(sessionId, by) || ssh.kill(sessionId, by);
        }
    }

    private static void closeAll(List<AutoCloseable> resources) {
        for (AutoCloseable c : resources.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing {}: {}", c, e.toString());
            }
        }
    }
}
