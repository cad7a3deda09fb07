package org.postern.agent.session;

import java.io.IOException;
import java.nio.file.Files;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import org.jspecify.annotations.Nullable;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.key.DeviceKey;
import org.postern.agent.key.DeviceKeyStore;
import org.postern.agent.ssh.SshCertificates;
import org.postern.agent.state.AgentHome;
import org.postern.agent.tunnel.CloseReasons;
import org.postern.agent.tunnel.ConnectStreamHandler;
import org.postern.agent.tunnel.LocalListeners;
import org.postern.agent.tunnel.TunnelRefusedException;
import org.postern.agent.tunnel.TunnelClose;
import org.postern.agent.tunnel.Tunnels;
import org.postern.agent.vpn.ConnectIpRefusedException;
import org.postern.agent.vpn.VpnClient;
import org.postern.agent.vpn.VpnStatus;
import org.postern.config.Durations;
import org.postern.config.agent.AgentSettings;
import org.postern.net.Transport;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.PostureClaims;
import org.postern.keys.SshPublicKeys;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's session with the gateway ({@code postern-agent up}): one mTLS HTTP/2 connection,
 * posture proven at start (challenge → signed evidence → decision) and renewed before the lease
 * ends, a denial printed with its reasons and remediations and tried again after
 * {@code posture.retryInterval}, and a dropped connection brought back with a doubling backoff.
 * Tunnels are CONNECT streams on that connection, opened only while the lease holds.
 *
 * <p>With several gateways ({@code gateways} in agent.yaml, or a name with several addresses) a
 * lost connection fails over: the next candidate ({@link GatewayCandidates}) is tried at once and
 * posture proven afresh there, while the local listeners, which ask {@link #open} for each tunnel,
 * stay bound; waits come only once every candidate was tried ({@link ReconnectBackoff}). A gateway
 * that refuses this laptop itself (revoked, suspended: said by a GOAWAY or confirmed by the CRL) is
 * not a failure to route around: no failover then. Every other refusal moves on — a handshake
 * refused for a reason the CRL does not confirm, a posture {@code 503} that is the gateway's own
 * trouble ({@link GatewayFault}), a connection closed with {@code registry_unavailable}.
 *
 * <p>One control thread runs the loop (collecting facts and signing may take seconds and must not
 * hold an event loop); the network work is Netty's. Each event is one line through {@code say}.
 */
public final class GatewaySession implements Tunnels, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GatewaySession.class);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration EXCHANGE_TIMEOUT = Duration.ofSeconds(30);

    /** What the session needs; {@code facts} collects this laptop's posture facts when asked. */
    public record Setup(List<URI> gateways, AgentHome home, AgentSettings settings, Supplier<PostureClaims.Facts> facts,
                        AgentInfo agent, Clock clock, EventLoopGroup group, Consumer<String> say, Map<String, String> env) {
        public Setup {
            gateways = List.copyOf(gateways);
            if (gateways.isEmpty()) {
                throw new IllegalArgumentException("gateways: expected at least one gateway URL, found none");
            }
            Objects.requireNonNull(home, "home");
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(facts, "facts");
            Objects.requireNonNull(agent, "agent");
            Objects.requireNonNull(clock, "clock");
            Objects.requireNonNull(group, "group");
            Objects.requireNonNull(say, "say");
            Objects.requireNonNull(env, "env");
        }

        /** One gateway. */
        public Setup(URI gateway, AgentHome home, AgentSettings settings, Supplier<PostureClaims.Facts> facts,
                     AgentInfo agent, Clock clock, EventLoopGroup group, Consumer<String> say, Map<String, String> env) {
            this(List.of(gateway), home, settings, facts, agent, clock, group, say, env);
        }
    }

    private final Setup setup;
    private final GatewayCandidates candidates;
    private final ReconnectBackoff backoff;
    /** The gateway connected to, or being tried. */
    private volatile GatewayCandidates.Candidate current;
    private volatile String authority;
    /** A working connection was lost at this time, from this gateway, for this reason; null once back. */
    private volatile @Nullable Lost lost;
    private volatile int failovers;
    private volatile @Nullable Failover lastFailover;
    private final SessionFile file;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread control;
    private final SshCertificates ssh;
    private boolean saidNoBastion;
    private volatile boolean closed;
    private volatile Channel connection;
    private volatile Instant connectedSince;
    private volatile Decision decision;
    /** The connection the last decision came on: a lease proven to one gateway is no lease on another. */
    private volatile @Nullable Channel decidedOn;
    private volatile String state = "starting";
    private volatile List<LocalListeners.Bound> listeners = List.of();
    private volatile @Nullable Barred barred;
    private final java.util.ArrayDeque<TunnelClose> recentCloses = new java.util.ArrayDeque<>();
    /** Whether a posture decision came on the current connection: only then is the backoff reset. */
    private volatile boolean decided;
    private final CompletableFuture<Barred> stoppedForGood = new CompletableFuture<>();
    /** The VPN (vpn.enabled), opened once the lease holds; null without VPN mode. */
    private volatile @Nullable VpnClient vpn;
    /** Wakes the posture loop early: the connection closed or the VPN went down. */
    private final Semaphore wake = new Semaphore(0);

    public GatewaySession(Setup setup) {
        this.setup = setup;
        this.candidates = new GatewayCandidates(setup.gateways(), GatewayCandidates.Resolver.SYSTEM);
        this.backoff = new ReconnectBackoff(setup.settings().reconnect(), new java.util.SplittableRandom());
        this.current = new GatewayCandidates.Candidate(setup.gateways().getFirst(), null);
        this.authority = current.authority();
        this.file = new SessionFile(setup.home().dir());
        this.ssh = new SshCertificates(setup.home().sshDir(), setup.clock(), new SecureRandom());
        this.control = Thread.ofPlatform().name("postern-session").daemon(true).unstarted(this::run);
    }

    /** Records the local listeners for the state file ({@code connect} finds the SOCKS5 port there). */
    public void listeners(List<LocalListeners.Bound> bound) {
        this.listeners = List.copyOf(bound);
        save();
    }

    /**
     * Turns on VPN mode: {@code client} (its TUN device already open) is opened after each posture
     * decision that allows access, taken down with the lease or the connection, and closed with
     * the session.
     */
    public void vpn(VpnClient client) {
        this.vpn = client;
        client.onChange(this::save);
    }

    public void start() {
        control.start();
    }

    /**
     * Completes when the session stopped for good: the gateway refused this laptop's certificate
     * and the CRL says it is revoked ({@link Barred#isFinal()}). No connection is tried after it.
     */
    public CompletableFuture<Barred> stoppedForGood() {
        return stoppedForGood;
    }

    /** How many ended tunnels {@code session.json} keeps ({@code recentCloses}, newest last). */
    static final int RECENT_CLOSES = 20;

    /** A tunnel ended: one INFO line with its reason, and kept among the recent closes for {@code status}. */
    public void tunnelClosed(TunnelClose close) {
        say(close.describe());
        synchronized (recentCloses) {
            recentCloses.addLast(close);
            while (recentCloses.size() > RECENT_CLOSES) {
                recentCloses.removeFirst();
            }
        }
        save();
    }

    /** The last decision, or null before the first. */
    public Decision decision() {
        return decision;
    }

    /** Whether the connection to the gateway is up. */
    public boolean connected() {
        Channel c = connection;
        return c != null && c.isActive();
    }

    @Override
    public Future<Http2StreamChannel> open(String host, int port) {
        String destination = ConnectStreamHandler.authority(host, port);
        Channel ch = connection;
        Decision d = decision;
        if (ch == null || !ch.isActive()) {
            return setup.group().next().newFailedFuture(TunnelRefusedException.noSession(destination, "not connected to the gateway"));
        }
        if (d == null || decidedOn != ch || !d.liveAt(setup.clock().instant())) {
            String why = d == null || decidedOn != ch ? "posture not accepted yet"
                    : d.allowed() ? "the lease ended" : "posture denied (" + codes(d) + ")";
            return ch.eventLoop().newFailedFuture(TunnelRefusedException.noSession(destination, why));
        }
        Promise<Http2StreamChannel> promise = ch.eventLoop().newPromise();
        new Http2StreamChannelBootstrap(ch).option(ChannelOption.AUTO_READ, false)
                .handler(new ConnectStreamHandler(destination, promise)).open()
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        promise.tryFailure(new TunnelRefusedException(TunnelRefusedException.Kind.FAILED, 0, null,
                                "cannot open a stream for " + destination + ": " + f.cause().getMessage()));
                    }
                });
        return promise;
    }

    @Override
    public void close() {
        closed = true;
        stopped.countDown();
        VpnClient v = vpn;
        if (v != null) {
            v.close(); // routes and DNS restored before the connection goes (SIGTERM included)
        }
        Channel c = connection;
        if (c != null) {
            c.close();
        }
        try {
            control.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) { // after this, save() writes nothing (it checks closed under the same lock)
            try {
                file.remove();
            } catch (IOException e) {
                log.warn("cannot remove {}: {}", file.file(), e.getMessage());
            }
        }
    }

    // ---- the control loop ------------------------------------------------------------------

    private void run() {
        while (!closed) {
            GatewayCandidates.Candidate candidate = candidates.next();
            current = candidate;
            authority = candidate.authority();
            Channel ch = null;
            Exception failed = null;
            boolean wasConnected = false;
            decided = false;
            try {
                state = "connecting";
                save();
                renewCertificateIfDue(candidate.gateway());
                X509Certificate cert = setup.home().certificate();
                AgentHome.Enrollment e = setup.home().enrollment()
                        .orElseThrow(() -> new IOException("not enrolled: no enrollment record in " + setup.home().dir()));
                DeviceKey key = DeviceKeyStore.open(e.key(), setup.env()).current(cert);
                SslContext ssl = GatewayConnector.tls(e.caSha256(), key, cert, setup.settings().tls().provider());
                ch = await(GatewayConnector.connect(setup.group(), candidate.gateway(), candidate.address(), ssl, CONNECT_TIMEOUT),
                        CONNECT_TIMEOUT.plusSeconds(5), "connecting");
                connection = ch;
                connectedSince = setup.clock().instant();
                wasConnected = true;
                state = "connected";
                say("connected to " + candidate.describe() + " (TLS 1.3 via " + GatewayConnector.engineName(ch)
                        + ", HTTP/2) as " + e.device());
                save();
                keepPosture(ch, e.device(), key, cert, e.caSha256());
            } catch (Exception ex) {
                failed = ex;
            } finally {
                VpnClient v = vpn;
                if (v != null && !closed) {
                    v.closeLink("connection lost");
                }
                connection = null;
                connectedSince = null;
                if (ch != null) {
                    ch.close();
                }
            }
            if (closed) {
                break;
            }
            Throwable why = ch == null ? null : ch.attr(GatewayConnector.FAILURE).get();
            String closedBy = ch == null ? null : ch.attr(GatewayConnector.CLOSE_REASON).get();
            Exception error = failed;
            Optional<String> signal = error instanceof RefusedDevice r ? Optional.of(r.signal)
                    : Barred.certificateAlert(why).or(() -> Barred.certificateAlert(error)).map(a -> "TLS alert " + a);
            Duration wait;
            if (signal.isPresent()) {
                // the gateway refuses this laptop: find out why (the CRL), say it plainly, and do not hammer it;
                // revoked or suspended holds at every gateway (one registry), anything else may be this one's trouble
                Barred b = barred(signal.get(), candidate.gateway());
                say(b.message());
                if (b.isFinal()) {
                    state = "stopped";
                    save();
                    stoppedForGood.complete(b);
                    return;
                }
                wait = afterRefusal(b);
                state = b.kind().spelling();
            } else if (closedBy != null && pinsToGateway(closedBy)) {
                // revoked or suspended: asked again at the same gateway, whose refused handshake then tells which
                // (above); another gateway reads the same registry, so this is no failure to route around
                say("connection to " + candidate.describe() + " closed by the gateway: " + CloseReasons.describe(closedBy));
                candidates.again();
                wait = backoff.afterRefusal();
                state = "disconnected";
            } else {
                String what;
                if (wasConnected) {
                    Throwable cause = why != null ? why : failed;
                    what = closedBy != null ? "closed by the gateway: " + CloseReasons.describe(closedBy)
                            : failed instanceof GatewayFault fault ? "left: " + fault.getMessage()
                            : "lost: " + (cause == null ? "closed without a GOAWAY" : describe(cause));
                    say("connection to " + candidate.describe() + " " + what);
                } else {
                    Throwable cause = failed != null ? failed : why;
                    what = "unreachable" + (cause == null ? "" : ": " + describe(cause));
                    say("cannot reach the gateway at " + candidate.describe() + (cause == null ? "" : ": " + describe(cause)));
                }
                if (decided && lost == null) {
                    lost = new Lost(System.nanoTime(), candidate, what);
                }
                wait = backoff.afterAttempt(decided, candidates.size());
                state = "disconnected";
            }
            save();
            say(wait.isZero() ? "trying the next gateway" : "reconnecting in " + Durations.format(wait));
            pause(wait);
        }
    }

    /** GOAWAY reasons that refuse this laptop itself ({@link CloseReasons}): no failover. */
    static final java.util.Set<String> DEVICE_CLOSES = java.util.Set.of("revoked", "suspended");

    /**
     * Whether a connection the gateway closed with this GOAWAY reason is asked again at the same
     * gateway: only when it is about this laptop (revoked, suspended: every gateway reads the same
     * registry). Any other reason — {@code registry_unavailable}, {@code shutdown} — is this
     * gateway's trouble, and the next candidate is tried.
     */
    static boolean pinsToGateway(String closedBy) {
        return DEVICE_CLOSES.contains(closedBy);
    }

    /**
     * What follows a refusal of this laptop that is not final: suspended (the CRL says on hold) asks the
     * same gateway again in {@link Barred#SUSPENDED_RETRY}; a refusal the CRL does not confirm (a gateway
     * that cannot read its registry answers {@code certificate_unknown} too) moves on to the next candidate
     * as a failed attempt does, waiting only once every candidate was tried.
     */
    private Duration afterRefusal(Barred b) {
        if (pinsToGateway(b)) {
            candidates.again();
            return Barred.SUSPENDED_RETRY;
        }
        return backoff.afterAttempt(false, candidates.size());
    }

    /** Whether a refusal that is not final keeps {@code up} at the same gateway: only a suspension the CRL confirms. */
    static boolean pinsToGateway(Barred b) {
        return b.kind() == Barred.Kind.SUSPENDED;
    }

    /** A connection on which posture had been decided ended. */
    private record Lost(long nanos, GatewayCandidates.Candidate from, String why) {
    }

    /** {@code up} came back through another gateway: {@code status} shows the last one. */
    private record Failover(Instant at, String from, String to, String why, Duration took) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("at", at.toString());
            m.put("from", from);
            m.put("to", to);
            m.put("reason", why);
            m.put("seconds", took.toMillis() / 1000.0);
            return m;
        }
    }

    /**
     * A decision came on a new connection after a working one was lost: through another gateway
     * that is a failover (counted, and said with its reason and how long it took).
     */
    private void back(GatewayCandidates.Candidate now) {
        Lost l = lost;
        if (l == null) {
            return;
        }
        lost = null;
        Duration took = Duration.ofNanos(System.nanoTime() - l.nanos());
        if (l.from().equals(now)) {
            say("back through " + now.describe() + " " + seconds(took) + " after the connection was " + l.why());
            return;
        }
        failovers++;
        lastFailover = new Failover(setup.clock().instant(), l.from().describe(), now.describe(), l.why(), took);
        say("failover: " + now.describe() + " took over from " + l.from().describe() + " in " + seconds(took)
                + " (" + l.why() + ")");
    }

    private static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
    }

    /**
     * What the gateway's refusal of this laptop means: the CRL says revoked or on hold, or names
     * the certificate not at all. Kept in {@code barred.json} for {@code status}.
     */
    private Barred barred(String signal, URI gateway) {
        Instant at = setup.clock().instant();
        String serial = "?";
        Optional<RevocationCheck.Entry> entry = Optional.empty();
        try {
            X509Certificate cert = setup.home().certificate();
            serial = cert.getSerialNumber().toString(16);
            AgentHome.Enrollment e = setup.home().enrollment().orElseThrow(() -> new IOException("not enrolled"));
            entry = RevocationCheck.lookup(gateway, e.caSha256(), setup.home().caChain(), cert);
        } catch (IOException | RuntimeException e) {
            log.info("the gateway refused this laptop ({}); its CRL could not be read: {}", signal, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Barred b = Barred.of(signal, serial, entry, at);
        barred = b;
        try {
            org.postern.keys.SecureFiles.replace(setup.home().barredFile(), SessionFile.JSON.writeValueAsBytes(b.toJson()), true);
        } catch (IOException e) {
            log.warn("cannot write {}: {}", setup.home().barredFile(), e.getMessage());
        }
        return b;
    }

    /** A 403 that refuses this laptop rather than one request ({@link Barred#DEVICE_REFUSALS}). */
    private static final class RefusedDevice extends IOException {
        final String signal;

        RefusedDevice(int status, String code) {
            super("the gateway answered " + status + " " + code);
            this.signal = status + " " + code;
        }
    }

    private void keepPosture(Channel ch, String device, DeviceKey key, X509Certificate cert, String caSha256) throws Exception {
        boolean bastion = setup.settings().ssh().enabled();
        ch.closeFuture().addListener(f -> wake.release());
        while (ch.isActive() && !closed) {
            wake.drainPermits();
            Decision d = prove(ch, device, key, cert);
            decision = d;
            decidedOn = ch;
            back(current);
            if (barred != null) {
                barred = null; // the gateway judged this laptop again: whatever barred it is over
                Files.deleteIfExists(setup.home().barredFile());
            }
            save();
            Duration wait;
            if (d.allowed()) {
                say((d.compliant() ? "posture accepted" : "posture NOT compliant, allowed (report-only)")
                        + (d.leaseUntil() == null ? "" : "; lease until " + d.leaseUntil())
                        + (d.policyVersion() == null ? "" : " (policy " + d.policyVersion() + ")"));
                reasons(d);
                if (bastion && d.leaseUntil() != null) {
                    bastion = sshCertificate(ch, d.leaseUntil());
                }
                wait = renewIn(d, setup.clock().instant(), setup.settings().posture().renewMargin());
                if (!openVpn(ch, key, cert, caSha256)) {
                    Duration retry = setup.settings().posture().retryInterval();
                    wait = wait.compareTo(retry) < 0 ? wait : retry;
                }
            } else {
                VpnClient v = vpn;
                if (v != null) {
                    v.closeLink("posture denied");
                }
                say("posture denied by the gateway" + (d.policyVersion() == null ? "" : " (policy " + d.policyVersion() + ")")
                        + ": " + codes(d));
                reasons(d);
                wait = setup.settings().posture().retryInterval();
                say("trying again in " + Durations.format(wait));
            }
            if (ch.isActive() && !closed) {
                wake.tryAcquire(wait.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    /**
     * Opens the VPN once the lease holds (docs/vpn.md "The laptop"), unless it is open already.
     * Returns false when it could not be opened (refused or failed): tried again after
     * {@code posture.retryInterval}.
     */
    private boolean openVpn(Channel ch, DeviceKey key, X509Certificate cert, String caSha256) throws InterruptedException {
        VpnClient v = vpn;
        if (v == null || v.isOpen()) {
            return true;
        }
        URI g = current.gateway();
        Instant opened = setup.clock().instant();
        try {
            v.open(new VpnClient.Gateway(ch, g.getHost(), g.getPort() > 0 ? g.getPort() : 443, authority, caSha256, key, cert))
                    .thenRun(() -> wakeAfterVpnDown(opened));
            return true;
        } catch (ConnectIpRefusedException r) {
            say("VPN refused by the gateway: " + (r.reason() != null ? r.reason() : Integer.toString(r.status())));
        } catch (IOException | RuntimeException e) {
            say("VPN not opened: " + describe(e));
        }
        return false;
    }

    /**
     * The VPN went down: prove posture and open it again — at once when it had been up for
     * {@code posture.retryInterval} or longer, otherwise only once that long after it opened, so a
     * link that keeps dying does not become a loop.
     */
    private void wakeAfterVpnDown(Instant opened) {
        Duration lived = Duration.between(opened, setup.clock().instant());
        Duration rest = setup.settings().posture().retryInterval().minus(lived);
        try {
            setup.group().schedule((Runnable) wake::release, rest.isNegative() ? 0 : rest.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // the agent is stopping: nothing to open again
        }
    }

    /**
     * When to renew: {@code renewMargin} before the lease ends, but never sooner than half the time
     * left (a lease shorter than the margin is renewed at its half-life, not in a tight loop).
     */
    static Duration renewIn(Decision d, Instant now, Duration margin) {
        if (d.leaseUntil() == null) {
            return margin; // report-only without a lease: ask again now and then
        }
        Duration left = Duration.between(now, d.leaseUntil());
        if (left.isNegative() || left.isZero()) {
            return Duration.ZERO;
        }
        Duration beforeEnd = left.minus(margin);
        Duration half = left.dividedBy(2);
        return beforeEnd.compareTo(half) > 0 ? beforeEnd : half;
    }

    private Decision prove(Channel ch, String device, DeviceKey key, X509Certificate cert)
            throws IOException, GeneralSecurityException, InterruptedException {
        PostureExchange.Answer c = await(PostureExchange.post(ch, authority, PostureExchange.CHALLENGE_PATH, "{}"),
                EXCHANGE_TIMEOUT, "asking for a posture challenge");
        if (c.status() != 200) {
            refusesDevice(c);
            gatewayFault(c);
            return Decision.refusal(c.status(), c.reason(), c.body(), setup.clock().instant());
        }
        String nonce = SessionFile.JSON.readTree(c.body()).path("nonce").asText("");
        if (nonce.isEmpty()) {
            throw new IOException("the gateway's challenge has no nonce: expected {\"nonce\",\"expiresAt\"}, found " + c.body());
        }
        PostureClaims claims = PostureClaims.of(nonce, device, setup.clock().instant(), setup.agent(), setup.facts().get());
        String jws = Evidence.sign(claims, key.privateKey(), cert);
        String body = SessionFile.JSON.writeValueAsString(Map.of("evidence", jws));
        PostureExchange.Answer a = await(PostureExchange.post(ch, authority, PostureExchange.EVIDENCE_PATH, body),
                EXCHANGE_TIMEOUT, "sending posture evidence");
        Instant at = setup.clock().instant();
        try {
            JsonNode n = SessionFile.JSON.readTree(a.body());
            if (n != null && n.isObject() && n.has("compliant")) {
                Decision d = Decision.fromJson(n, at);
                decided = true;
                return d;
            }
        } catch (IOException | IllegalArgumentException | java.time.DateTimeException e) {
            // not a decision: a plain refusal, handled below
        }
        refusesDevice(a);
        gatewayFault(a);
        return Decision.refusal(a.status(), a.reason(), a.body(), at);
    }

    private static void refusesDevice(PostureExchange.Answer a) throws RefusedDevice {
        if (a.status() == 403 && a.reason() != null && Barred.DEVICE_REFUSALS.contains(a.reason())) {
            throw new RefusedDevice(a.status(), a.reason());
        }
    }

    /** A 503 that is this gateway's own trouble ({@link GatewayFault}): leave it for the next candidate. */
    private static void gatewayFault(PostureExchange.Answer a) throws GatewayFault {
        if (GatewayFault.is(a.status(), a.reason())) {
            throw new GatewayFault(a.status(), a.reason());
        }
    }

    /**
     * Asks for an SSH certificate for the bastion when the one on file does not cover the new lease
     * (docs/ssh.md). A refusal is printed and the session goes on; tunnels do not depend on it.
     *
     * @return whether to ask again after the next decision on this connection: false when the
     * gateway has no bastion (404 at {@code /v1/ssh/certificate}, printed once per run)
     */
    private boolean sshCertificate(Channel ch, Instant leaseUntil) throws InterruptedException {
        if (!ssh.needsRenewal(leaseUntil)) {
            return true;
        }
        try {
            SshPublicKeys.Certificate c = ssh.renew((path, type, body) -> {
                PostureExchange.Answer a = await(PostureExchange.post(ch, authority, path, type, body), EXCHANGE_TIMEOUT,
                        "asking for an SSH certificate");
                return new SshCertificates.Answer(a.status(), a.reason(), a.body());
            }, leaseUntil);
            say("SSH certificate for " + String.join(",", c.principals()) + " valid until "
                    + c.validBefore() + " (" + ssh.certificateFile() + ")");
            return true;
        } catch (SshCertificates.RefusedException e) {
            if (e.status() == 404) {
                if (!saidNoBastion) {
                    saidNoBastion = true;
                    say("the gateway offers no SSH bastion (404 at " + SshCertificates.PATH + "): no SSH certificate");
                }
                return false;
            }
            say(e.getMessage());
        } catch (IOException e) {
            say("SSH certificate not renewed: " + e.getMessage());
        }
        return true;
    }

    private void renewCertificateIfDue(URI via) {
        try {
            new Enroller(setup.home(), setup.clock(), new SecureRandom(), setup.env()).renewIfDue(via).ifPresent(c ->
                    say("certificate renewed, valid until " + c.getNotAfter().toInstant()));
        } catch (IOException | RuntimeException e) {
            say("certificate renewal failed, will retry: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void reasons(Decision d) {
        for (Decision.Reason r : d.reasons()) {
            say("  " + r.code() + ": " + r.message());
            if (!r.remediation().isBlank()) {
                say("    → " + r.remediation());
            }
        }
    }

    private static String codes(Decision d) {
        return d.reasons().isEmpty() ? "no reason given" : String.join(", ", d.reasons().stream().map(Decision.Reason::code).distinct().toList());
    }

    private <T> T await(Future<T> f, Duration timeout, String what) throws IOException, InterruptedException {
        if (!f.await(timeout.toMillis())) {
            f.cancel(false);
            throw new IOException(what + ": no answer within " + Durations.format(timeout));
        }
        if (!f.isSuccess()) {
            Throwable t = f.cause();
            throw t instanceof IOException io ? io : new IOException(what + ": " + describe(t), t);
        }
        return f.getNow();
    }

    private void pause(Duration d) {
        try {
            stopped.await(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    private static String describe(Throwable t) {
        if (t instanceof java.nio.channels.ClosedChannelException) {
            return "the connection closed";
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root && (root.getMessage() == null
                || root instanceof io.netty.handler.codec.DecoderException)) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return m == null ? root.getClass().getSimpleName() : m;
    }

    private void say(String line) {
        log.info(line);
        setup.say().accept(line);
    }

    // ---- the state file --------------------------------------------------------------------

    private synchronized void save() {
        if (closed) {
            return;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", ProcessHandle.current().pid());
        GatewayCandidates.Candidate at = current;
        m.put("gateway", at.gateway().toString());
        m.put("address", at.address() == null ? null : at.address().getHostAddress());
        m.put("gateways", setup.gateways().stream().map(URI::toString).toList());
        m.put("failovers", failovers);
        Failover f = lastFailover;
        m.put("lastFailover", f == null ? null : f.toJson());
        m.put("state", state);
        m.put("transport", Transport.of(setup.group()).toString());
        Instant since = connectedSince;
        m.put("connectedSince", since == null ? null : since.toString());
        Decision d = decision;
        m.put("leaseUntil", d == null || d.leaseUntil() == null ? null : d.leaseUntil().toString());
        m.put("decision", d == null ? null : d.toJson());
        Barred refused = barred;
        m.put("barred", refused == null ? null : refused.toJson());
        List<Map<String, Object>> ls = new ArrayList<>();
        for (LocalListeners.Bound b : listeners) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("what", b.what());
            String host = b.address().getAddress().getHostAddress();
            o.put("address", (host.contains(":") ? "[" + host + "]" : host) + ":" + b.address().getPort());
            ls.add(o);
        }
        m.put("listeners", ls);
        VpnClient v = vpn;
        if (v != null) {
            m.put("vpn", v.status().map(VpnStatus::toJson).orElse(null));
        }
        synchronized (recentCloses) {
            m.put("recentCloses", recentCloses.stream().map(TunnelClose::toJson).toList());
        }
        m.put("updatedAt", setup.clock().instant().toString());
        try {
            file.write(m);
            if (d != null) {
                org.postern.keys.SecureFiles.replace(setup.home().decisionFile(), SessionFile.JSON.writeValueAsBytes(d.toJson()), true);
            }
        } catch (IOException e) {
            log.warn("cannot write {}: {}", file.file(), e.getMessage());
        }
    }
}
