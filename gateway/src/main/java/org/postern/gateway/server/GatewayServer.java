package org.postern.gateway.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.postern.config.PkiSettings;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.audit.AuditKeys;
import org.postern.gateway.audit.AuditTrail;
import org.postern.gateway.audit.AuditTrailConfig;
import org.postern.gateway.audit.siem.SiemForwarder;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.ChallengeStore;
import org.postern.gateway.posture.LeaseStore;
import org.postern.gateway.posture.PostureHandler;
import org.postern.gateway.posture.PostureService;
import org.postern.gateway.relay.ConnectHandler;
import org.postern.gateway.relay.FlowEnd;
import org.postern.gateway.relay.FlowRegistry;
import org.postern.gateway.relay.RelaySettings;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.crl.CrlHandler;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.est.EstHandler;
import org.postern.pki.http.NotFoundHandler;
import org.postern.pki.ocsp.OcspHandler;
import org.postern.pki.ocsp.OcspResponder;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.pki.server.ServerCredentials;
import org.postern.pki.server.ServerTls;
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

    private final List<AutoCloseable> resources; // closed in reverse order
    private final EventLoopGroup group;
    private final ExecutorService workers;
    private final ChannelGroup children;
    private final Channel channel;
    private final CertificateAuthority ca;

    private GatewayServer(List<AutoCloseable> resources, EventLoopGroup group, ExecutorService workers,
                          ChannelGroup children, Channel channel, CertificateAuthority ca) {
        this.resources = resources;
        this.group = group;
        this.workers = workers;
        this.children = children;
        this.channel = channel;
        this.ca = ca;
    }

    public static GatewayServer start(GatewaySettings settings, KeyProtection protection) throws IOException, InterruptedException {
        return start(settings, protection, Clock.systemUTC(), new SecureRandom());
    }

    public static GatewayServer start(GatewaySettings settings, KeyProtection protection, Clock clock, SecureRandom random)
            throws IOException, InterruptedException {
        List<AutoCloseable> resources = new ArrayList<>();
        ExecutorService workers = Executors.newFixedThreadPool(Math.max(4, 2 * Runtime.getRuntime().availableProcessors()),
                Thread.ofPlatform().name("gateway-worker-", 0).daemon().factory());
        resources.add(workers::shutdownNow);
        try {
            Path dataDir = settings.dataDir();
            PkiSettings pki = PkiSettings.defaults();
            // the PKI data directory: CA (unlocked as `pki serve` does) and the device registry
            CaStore store = new CaStore(dataDir);
            if (!store.exists()) {
                throw new IOException("no CA in " + dataDir + "; create one with: postern pki init --dir " + dataDir);
            }
            CertificateAuthority ca = store.load(protection, clock.instant(), random, pki.certificates().ocspResponderLifetime());
            SqliteRegistry registry = SqliteRegistry.open(dataDir, clock);
            resources.add(registry);
            // the audit trail, signed with dataDir/audit.key; audit.pub beside it for auditors
            AuditKeys keys = AuditKeys.loadOrCreate(dataDir.resolve("audit.key"), random);
            keys.exportPublicKey(dataDir.resolve("audit.pub"));
            GatewaySettings.Audit a = settings.audit();
            Files.createDirectories(a.dir());
            AuditTrail audit = new AuditTrail(a.dir(), AuditTrailConfig.defaults(settings.id())
                    .withMinFreeBytes(a.minFree().bytes()).withCheckpointInterval(a.checkpointInterval()), keys);
            resources.add(audit);
            if (a.siem() != null) { // forwarding to a SIEM reads the trail's files; closed before the trail
                resources.add(SiemForwarder.start(audit, a.siem()));
            }

            CrlPublisher crl = new CrlPublisher(ca, registry, store.crlFile(), pki.revocation().crlValidity(), clock);
            PkiService service = new PkiService(() -> ca, registry, audit, pki, clock, random, () -> crl);
            ServerCredentials creds = settings.tls().selfIssued()
                    ? ServerCredentials.selfIssued(service, ca, dataDir, settings.listeners().tunnel().host(), clock.instant())
                    : ServerCredentials.fromFiles(settings.tls().certificate(), settings.tls().key());
            SslContext tls = ServerTls.context(creds.key(), creds.certificate(), ca.chain(), provider(settings.tls()));

            // posture: challenges, leases; a lease that ends (not renewed) cuts the device's flows
            FlowRegistry flows = new FlowRegistry(audit, workers, clock, new RelaySettings(
                    RelaySettings.DEFAULTS.connectTimeout(), settings.limits().idleTimeout(), RelaySettings.DEFAULTS.closeGrace()));
            LeaseStore leases = new LeaseStore(clock, (lease, end) -> {
                if (end != LeaseStore.End.RENEWED) {
                    flows.closeAll(lease.deviceId(), FlowEnd.LEASE_ENDED);
                }
            });
            PostureService posture = new PostureService(settings::posture, new PostureEvaluator(),
                    new ChallengeStore(random, clock), leases, registry, audit, clock);

            // access: the configured rules; the gateway's own addresses are refused like loopback
            InetSocketAddress listen = settings.listeners().tunnel().socketAddress();
            Set<InetAddress> own = ownAddresses(listen);
            AccessPolicy policy = AccessPolicy.of(settings.access(), own);
            DestinationResolver resolver = DestinationResolver.system(new ForbiddenAddresses(own));

            GatewayInitializer.Shared shared = new GatewayInitializer.Shared(
                    new EstHandler(service, ca.chain(), workers), new CrlHandler(crl, workers),
                    new OcspHandler(new OcspResponder(ca, registry, clock), workers), new PostureHandler(posture, workers),
                    new ConnectHandler(leases, registry, resolver, policy, flows), new NotFoundHandler());
            ChannelGroup children = new DefaultChannelGroup("gateway-connections", GlobalEventExecutor.INSTANCE);
            int maxHeader = Math.toIntExact(settings.limits().headerSize().bytes());
            int maxBody = Math.toIntExact(pki.enrollment().maxRequestSize().bytes());
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
            try {
                Channel ch = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                        .childHandler(new GatewayInitializer(tls, registry, audit, clock, workers, maxHeader, maxBody,
                                shared, children))
                        .bind(listen).sync().channel();
                InetSocketAddress bound = (InetSocketAddress) ch.localAddress();
                log.info("gateway {} listening on https://{}:{}", settings.id(), bound.getHostString(), bound.getPort());
                return new GatewayServer(resources, group, workers, children, ch, ca);
            } catch (InterruptedException | RuntimeException e) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                throw e;
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            closeAll(resources);
            throw e;
        }
    }

    /** Where the tunnel listener is bound (the real port when 0 was asked). */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** The unlocked CA (its chain is what devices and curl trust). */
    public CertificateAuthority ca() {
        return ca;
    }

    public void awaitClose() throws InterruptedException {
        channel.closeFuture().sync();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        // connections first, while the executors their pipelines use are alive
        children.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        workers.shutdown();
        try {
            workers.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeAll(resources);
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

    private static SslProvider provider(GatewaySettings.Tls tls) {
        return switch (tls.provider()) {
            case OPENSSL -> SslProvider.OPENSSL;
            case JDK -> SslProvider.JDK;
            case AUTO -> ServerTls.provider();
        };
    }

    /** The listen address and every interface address of this host. */
    static Set<InetAddress> ownAddresses(InetSocketAddress listen) {
        Set<InetAddress> own = new HashSet<>();
        if (listen.getAddress() != null) {
            own.add(listen.getAddress());
        }
        try {
            for (NetworkInterface ni : NetworkInterface.networkInterfaces().toList()) {
                ni.inetAddresses().forEach(own::add);
            }
        } catch (SocketException e) {
            log.warn("cannot list the network interfaces; only {} is refused as the gateway's own: {}", own, e.getMessage());
        }
        return own;
    }
}
