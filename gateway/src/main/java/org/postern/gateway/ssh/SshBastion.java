package org.postern.gateway.ssh;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.NamedFactory;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.mac.Mac;
import org.apache.sshd.common.signature.Signature;
import java.util.stream.Stream;
import org.apache.sshd.common.compression.BuiltinCompressions;
import org.apache.sshd.common.kex.BuiltinDHFactories;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.mac.BuiltinMacs;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.session.ServerConnectionServiceFactory;
import org.apache.sshd.server.session.ServerSession;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.ProxyProtocol;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.posture.LeaseStore;
import org.postern.gateway.proxy.ProxyAudit;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.session.SessionInfo;
import org.postern.pki.registry.Registry;
import org.postern.pki.ssh.SshKeys;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.ClientAddress;

/**
 * The SSH bastion on {@code listeners.ssh}: an Apache MINA SSHD server that only forwards
 * ({@code ssh -J}, {@code -W}, {@code -L}) for devices holding an OpenSSH user certificate from the
 * Postern SSH user CA and a live posture lease (docs/ssh.md).
 *
 * <ul>
 *   <li>authentication — {@link CertificateAuth}; password and keyboard-interactive refused
 *       and recorded ({@link AuthRequestAudit}), only {@code publickey} offered;</li>
 *   <li>channels — {@code direct-tcpip} through the access policy ({@link DirectTcpipChannel},
 *       {@link PolicyForwardingFilter}); {@code session} (shell, exec, sftp) refused
 *       ({@link RefusedSessionChannel}); remote, agent and X11 forwarding refused;</li>
 *   <li>hardening — curve25519/ECDH key exchange, AES-GCM, SHA-2 ETM MACs, ECDSA/Ed25519
 *       signatures, no compression; bounded authentication time and attempts; connections per
 *       source capped; a neutral server version; the banner: the remote-work charter in force ({@code charter:}), then {@code ssh.banner};</li>
 *   <li>ending — {@link #closeDevice} cuts a device's sessions at once (lease end, revocation).</li>
 * </ul>
 *
 * <p>MINA SSHD runs on its NIO2 back end: the {@code sshd-netty} artifact is not available from the
 * package registry this project builds from (docs/ssh.md says so).
 */
public final class SshBastion implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SshBastion.class);
    static final String TOO_MANY_CONNECTIONS = Reasons.SSH_TOO_MANY_CONNECTIONS.code();
    static final String NOT_AUTHENTICATED = Reasons.SSH_NOT_AUTHENTICATED.code();
    private static final AttributeRepository.AttributeKey<Boolean> REFUSED = new AttributeRepository.AttributeKey<>();
    /** The address a session was counted under in the per-source limit, once counted. */
    private static final AttributeRepository.AttributeKey<InetAddress> COUNTED = new AttributeRepository.AttributeKey<>();
    /** The login and the methods a client tried, for the record of a connection that never authenticated. */
    private static final AttributeRepository.AttributeKey<Attempts> ATTEMPTS = new AttributeRepository.AttributeKey<>();

    private record Attempts(String login, Set<String> methods) {
    }

    /**
     * Where and how the bastion listens.
     *
     * @param listen               {@code listeners.ssh}
     * @param hostKey              {@code ssh.hostKey}, created 0600 when missing
     * @param banner               {@code ssh.banner}, or null
     * @param authTimeout          {@code ssh.authTimeout}
     * @param maxAuthTries         {@code ssh.maxAuthTries}
     * @param connectionsPerSource {@code limits.connectionsPerSource}
     * @param idleTimeout          {@code limits.idleTimeout}: a connection with no packet for this long closes
     * @param proxies              {@code proxyProtocol.ssh}: the load balancers whose PROXY v2 header names the client
     */
    public record Config(InetSocketAddress listen, Path hostKey, String banner, Duration authTimeout, int maxAuthTries,
                         int connectionsPerSource, Duration idleTimeout, ProxyProtocol.Listener proxies) {
        public Config {
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(hostKey, "hostKey");
            Objects.requireNonNull(authTimeout, "authTimeout");
            Objects.requireNonNull(idleTimeout, "idleTimeout");
            Objects.requireNonNull(proxies, "proxies");
        }

        /** Without a trusted load balancer. */
        public Config(InetSocketAddress listen, Path hostKey, String banner, Duration authTimeout, int maxAuthTries,
                      int connectionsPerSource, Duration idleTimeout) {
            this(listen, hostKey, banner, authTimeout, maxAuthTries, connectionsPerSource, idleTimeout,
                    ProxyProtocol.Listener.OFF);
        }

        public static Config of(GatewaySettings s) {
            return new Config(s.listeners().ssh().socketAddress(), s.ssh().hostKey(), s.ssh().banner(),
                    s.ssh().authTimeout(), s.ssh().maxAuthTries(), s.limits().connectionsPerSource(), s.limits().idleTimeout(),
                    s.proxyProtocol().ssh());
        }
    }

    /** The live authenticated sessions, by device. */
    static final class Sessions {
        private final Map<String, Set<BastionSession>> byDevice = new ConcurrentHashMap<>();

        void add(BastionSession s) {
            byDevice.computeIfAbsent(s.device, d -> ConcurrentHashMap.newKeySet()).add(s);
        }

        void remove(BastionSession s) {
            byDevice.computeIfPresent(s.device, (d, set) -> {
                set.remove(s);
                return set.isEmpty() ? null : set;
            });
        }

        List<BastionSession> of(String device) {
            Set<BastionSession> set = byDevice.get(device);
            return set == null ? List.of() : List.copyOf(set);
        }

        List<BastionSession> all() {
            List<BastionSession> out = new ArrayList<>();
            byDevice.values().forEach(out::addAll);
            out.sort(Comparator.comparing(s -> s.since));
            return out;
        }
    }

    private final SshServer server;
    private final Sessions sessions;
    private final PublicKey hostKey;
    private final Clock clock;

    private SshBastion(SshServer server, Sessions sessions, PublicKey hostKey, Clock clock) {
        this.hostKey = hostKey;
        this.clock = clock;
        this.server = server;
        this.sessions = sessions;
    }

    /**
     * Starts the bastion with the remote-work charter in force at each use ({@code LiveSettings.charter},
     * null: none required): its gate requires it accepted, and each connection's banner shows it. There
     * is no overload without the charter: "none required" is said explicitly ({@code () -> null}).
     *
     * @param userCa the Postern SSH user CA's public key: the only certificate signer accepted
     */
    public static SshBastion start(Config config, PublicKey userCa, Registry registry, LeaseStore leases,
                                   DestinationResolver resolver, AccessPolicy policy, AuditSink audit, Clock clock,
                                   Executor workers, SecureRandom random,
                                   Supplier<org.postern.config.gateway.@Nullable Charter> charter) throws IOException {
        KeyPair hostKey = SshKeys.loadOrCreate(config.hostKey(), random);
        BastionContext ctx = new BastionContext(userCa, registry, leases, resolver, policy,
                new TunnelGate(registry, leases, resolver, policy, () -> null, charter), audit, clock, workers);
        Sessions sessions = new Sessions();

        SshServer server = ServerBuilder.builder()
                .keyExchangeFactories(NamedFactory.setUpTransformedFactories(true, List.of(
                        BuiltinDHFactories.curve25519, BuiltinDHFactories.curve25519_libssh,
                        BuiltinDHFactories.ecdhp256, BuiltinDHFactories.ecdhp384, BuiltinDHFactories.ecdhp521),
                        ServerBuilder.DH2KEX))
                .cipherFactories(List.<NamedFactory<Cipher>>of(BuiltinCiphers.aes128gcm, BuiltinCiphers.aes256gcm))
                .macFactories(List.<NamedFactory<Mac>>of(BuiltinMacs.hmacsha256etm, BuiltinMacs.hmacsha512etm))
                .signatureFactories(Stream.of(
                        BuiltinSignatures.nistp256, BuiltinSignatures.nistp256_cert,
                        BuiltinSignatures.nistp384, BuiltinSignatures.nistp384_cert,
                        BuiltinSignatures.nistp521, BuiltinSignatures.nistp521_cert,
                        BuiltinSignatures.ed25519, BuiltinSignatures.ed25519_cert)
                        .filter(BuiltinSignatures::isSupported).<NamedFactory<Signature>>map(f -> f).toList())
                .compressionFactories(List.of(BuiltinCompressions.none))
                .channelFactories(List.of(new DirectTcpipChannel.Factory(ctx), new RefusedSessionChannel.Factory(ctx)))
                .forwardingFilter(new PolicyForwardingFilter(ctx))
                // defence in depth: MINA asks again after CertificateAuth; only our CA, only the login's principal
                .publickeyAuthenticator((login, key, session) ->
                        key instanceof org.apache.sshd.common.config.keys.OpenSshCertificate c
                                && userCa.equals(c.getCaPubKey()) && c.getPrincipals().contains(login))
                .build();
        // publickey only; every request is looked at first, so refused methods leave a record
        server.setUserAuthFactories(List.of(new CertificateAuth.Factory(ctx, sessions)));
        server.setServiceFactories(List.of(new AuthRequestAudit(ctx), ServerConnectionServiceFactory.INSTANCE));
        server.setKeyPairProvider(KeyPairProvider.wrap(hostKey));
        server.setShellFactory(null);
        server.setCommandFactory(null);
        server.setSubsystemFactories(List.of());
        CoreModuleProperties.AUTH_METHODS.set(server, "publickey");
        CoreModuleProperties.AUTH_TIMEOUT.set(server, config.authTimeout());
        CoreModuleProperties.MAX_AUTH_REQUESTS.set(server, config.maxAuthTries());
        CoreModuleProperties.IDLE_TIMEOUT.set(server, config.idleTimeout());
        CoreModuleProperties.SERVER_IDENTIFICATION.set(server, "Postern");
        // the banner: the charter in force when the connection comes (a reload changes it), then ssh.banner
        String fixedBanner = CharterBanner.of(null, config.banner());
        if (fixedBanner != null) {
            CoreModuleProperties.WELCOME_BANNER.set(server, fixedBanner);
        }

        Map<InetAddress, AtomicInteger> perSource = new ConcurrentHashMap<>();
        // counted per session once its client is known (MINA's accept-time hook cannot close what it rejects)
        Consumer<Session> admit = session -> {
            InetAddress ip = ip(session);
            session.setAttribute(COUNTED, ip);
            int n = perSource.computeIfAbsent(ip, k -> new AtomicInteger()).incrementAndGet();
            if (n > config.connectionsPerSource()) {
                markRefused(session);
                ctx.denied(ctx.event("access.denied").with("source", source(session)), TOO_MANY_CONNECTIONS,
                        ip.getHostAddress() + " already has " + (n - 1) + " SSH connections;"
                                + " limits.connectionsPerSource is " + config.connectionsPerSource());
                session.close(true);
            }
        };
        // behind a load balancer (proxyProtocol.ssh): a trusted proxy's PROXY v2 header names the client, and
        // its session is counted then; anyone else's header is refused
        ProxyHeaderAcceptor proxy = config.proxies().enabled()
                ? new ProxyHeaderAcceptor(config.proxies(), new ProxyAudit("ssh", audit, workers, clock),
                        config.authTimeout(), admit::accept)
                : null;
        server.setServerProxyAcceptor(proxy);
        server.addSessionListener(new SessionListener() {
            @Override
            public void sessionCreated(Session session) {
                String banner = CharterBanner.of(charter.get(), config.banner());
                if (banner != null) {
                    CoreModuleProperties.WELCOME_BANNER.set(session, banner);
                }
                if (proxy == null || !(session instanceof ServerSession s) || !proxy.fromTrustedProxy(s)) {
                    admit.accept(session);
                }
            }

            @Override
            public void sessionClosed(Session session) {
                InetAddress counted = session.getAttribute(COUNTED);
                if (counted != null) {
                    perSource.computeIfPresent(counted, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
                }
                BastionSession s = session.getAttribute(BastionSession.KEY);
                if (s != null) {
                    sessions.remove(s);
                    ended(ctx, s);
                } else if (Boolean.TRUE.equals(session.getAttribute(REFUSED))) {
                    // recorded when it was refused
                } else if (proxy != null && session instanceof ServerSession server && proxy.endedBeforeHeader(server)) {
                    // a trusted proxy's health check, or a header it never finished: the acceptor recorded what is due
                } else {
                    Attempts a = session.getAttribute(ATTEMPTS);
                    ctx.denied(ctx.event("access.denied").with("user", a != null ? AuditEvent.peerText(a.login()) : null)
                                    .with("source", source(session)), NOT_AUTHENTICATED,
                            "the connection closed without authenticating (methods tried: "
                                    + (a != null ? String.join(", ", a.methods()) : "none at all")
                                    + "); the bastion accepts only publickey with a Postern SSH certificate");
                }
            }
        });
        InetSocketAddress listen = config.listen();
        server.setHost(listen.getAddress() != null ? listen.getAddress().getHostAddress() : listen.getHostString());
        server.setPort(listen.getPort());
        server.start();
        LOG.info("SSH bastion listening on {}:{}", server.getHost(), server.getPort());
        return new SshBastion(server, sessions, hostKey.getPublic(), clock);
    }

    /** The bastion's public host key ({@code GET /v1/ssh/host-keys} hands it to enrolled devices). */
    public PublicKey hostKey() {
        return hostKey;
    }

    /** Where the bastion listens (the real port when 0 was asked). */
    public InetSocketAddress address() {
        return new InetSocketAddress(server.getHost(), server.getPort());
    }

    /**
     * Ends every SSH session of a device now — lease ended, device revoked or suspended, killed —
     * and with them its channels; {@code flow.close} and {@code session.end} carry {@code how}.
     *
     * @return how many sessions were ended
     */
    public int closeDevice(String deviceId, FlowEnd how) {
        return end(sessions.of(deviceId), how);
    }

    /**
     * Ends every SSH session now, of every device: the gateway's registry view went stale
     * ({@code registry_unavailable}), so no session may outlive a revocation it cannot see.
     *
     * @return how many sessions were ended
     */
    public int closeAll(FlowEnd how) {
        return end(sessions.all(), how);
    }

    /**
     * Ends, with {@link FlowEnd#OUTSIDE_HOURS}, every forward whose admitting rule's window has
     * closed by now ({@code access.endSessionsAtWindowEnd}); the SSH session stays for other forwards.
     *
     * @return how many forwards were ended
     */
    public int closeOutsideHours() {
        return closeOutsideHours(clock.instant());
    }

    /**
     * {@link #closeOutsideHours()} as of {@code now}: the gateway's sweep passes the one instant its
     * session step judged, so a window that ends between the two steps cannot cut a forward (and so
     * the client's connection, {@code client_closed}) before its session is ended {@code outside_hours}.
     */
    public int closeOutsideHours(Instant now) {
        int cut = 0;
        for (BastionSession s : sessions.all()) {
            for (DirectTcpipChannel f : s.flows()) {
                cut += f.cutIfWindowEnded(now) ? 1 : 0;
            }
        }
        return cut;
    }

    /**
     * Ends ({@code session.end} reason {@code outside_hours}, its forwards with it) every SSH session a
     * window of hours admitted a forward of, once that window has ended by now and no rule of its
     * owner's groups is open ({@code anyRuleOpen} false): as {@code Sessions.endOutsideHours} does for
     * the tunnel listener. A session no window admitted anything of is left alone.
     *
     * @return how many sessions were ended
     */
    public int endOutsideHours(Predicate<Set<String>> anyRuleOpen) {
        return endOutsideHours(clock.instant(), anyRuleOpen);
    }

    /** {@link #endOutsideHours(Predicate)} as of {@code now} (the sweep's one instant). */
    public int endOutsideHours(Instant now, Predicate<Set<String>> anyRuleOpen) {
        return end(sessions.all().stream().filter(s -> s.windowEndedBy(now) && !anyRuleOpen.test(s.windowGroups()))
                .toList(), FlowEnd.OUTSIDE_HOURS);
    }

    private static int end(List<BastionSession> list, FlowEnd how) {
        Objects.requireNonNull(how, "how");
        for (BastionSession s : list) {
            s.ending(how);
            s.flows().forEach(DirectTcpipChannel::cut);
            s.ssh.close(true);
        }
        return list.size();
    }

    /**
     * Ends one SSH session now ({@code postern gateway kill}): {@code session.end} reason
     * {@code killed}.
     *
     * @return false when no live SSH session has this id
     */
    public boolean kill(String sessionId, String by) {
        for (BastionSession s : sessions.all()) {
            if (s.id.equals(sessionId)) {
                LOG.info("SSH session {} of {} killed by {}", s.id, s.device, by);
                s.ending(FlowEnd.KILLED);
                s.flows().forEach(DirectTcpipChannel::cut);
                s.ssh.close(true);
                return true;
            }
        }
        return false;
    }

    /** The live SSH sessions, oldest first, for the admin API ({@code via: ssh}). */
    public List<SessionInfo> sessions() {
        return sessions.all().stream().map(s -> new SessionInfo(s.id, s.device, s.user, s.source, "ssh", s.since,
                s.flows().size(), 0, 0, s.lease.until())).toList();
    }

    @Override
    public void close() {
        for (BastionSession s : sessions.all()) {
            s.ending(FlowEnd.SHUTDOWN);
        }
        try {
            server.stop(true);
        } catch (IOException e) {
            LOG.warn("stopping the SSH bastion: {}", e.toString());
        }
    }

    private static void ended(BastionContext ctx, BastionSession s) {
        Runnable write = () -> {
            try {
                ctx.audit().recordOrDefer(s.fill(ctx.event("session.end"))
                        .with("reason", s.endReason().wireName())
                        .with("durationMs", Duration.between(s.since, ctx.clock().instant()).toMillis())
                        .build());
            } catch (AuditUnavailableException e) {
                LOG.error("SSH session {} of {} ended ({}) but session.end could not be recorded: {}", s.id, s.device,
                        s.endReason().wireName(), e.getMessage());
            }
        };
        try {
            ctx.workers().execute(write);
        } catch (RejectedExecutionException e) {
            write.run();
        }
    }

    /** Notes a login and an authentication method a client tried. */
    static void attempted(Session session, String login, String method) {
        session.computeAttributeIfAbsent(ATTEMPTS, k -> new Attempts(login, new java.util.concurrent.CopyOnWriteArraySet<>()))
                .methods().add(method);
    }

    /** Marks a session as having had a refusal recorded, so its close adds no second record. */
    static void markRefused(Session session) {
        session.setAttribute(REFUSED, Boolean.TRUE);
    }

    /** The client's {@code ip:port}: what a trusted proxy said ({@link ProxyHeaderAcceptor#CLIENT}), else the TCP peer. */
    static String source(Session session) {
        return ClientAddress.format(client(session));
    }

    private static InetAddress ip(Session session) {
        SocketAddress a = client(session);
        return a instanceof InetSocketAddress i ? i.getAddress() : InetAddress.getLoopbackAddress();
    }

    /** The one place the bastion asks who the client is. */
    private static SocketAddress client(Session session) {
        InetSocketAddress told = session.getAttribute(ProxyHeaderAcceptor.CLIENT);
        return told != null ? told : session.getIoSession().getRemoteAddress();
    }

    @Override
    public String toString() {
        return "SshBastion[" + server.getHost() + ":" + server.getPort() + "]";
    }
}
