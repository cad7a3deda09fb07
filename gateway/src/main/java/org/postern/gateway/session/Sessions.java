package org.postern.gateway.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.util.AttributeKey;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.gateway.gate.Grounds;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live sessions of this gateway. A connection of the tunnel listener gets its session when its
 * first tunnel is admitted ({@link #admit}); {@code session.start} is durable before that tunnel
 * is answered 200, or — when the trail cannot be written — the tunnel is refused
 * ({@code audit.failMode: closed}) or let in unrecorded with an error in the log ({@code open}).
 * {@code FlowRegistry.closeAll(device, how)} ends the device's sessions with the matching reason.
 * Thread-safe; {@link #admit} blocks on the audit trail and runs on a worker.
 */
public final class Sessions implements SessionDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(Sessions.class);

    /** The session of a connection (HTTP/2 streams look on their parent). */
    public static final AttributeKey<Session> KEY = AttributeKey.valueOf(Sessions.class, "session");

    private final Map<String, Session> live = new ConcurrentHashMap<>();
    private final AtomicInteger endsPending = new AtomicInteger();
    private final AuditSink audit;
    private final Executor workers;
    private final Clock clock;
    private final SessionFlows flows;
    private final Function<String, Instant> leaseUntil;
    private final FailMode failMode;
    private final int flowsPerDevice;

    /**
     * @param leaseUntil     the device's current lease end, or null (for listing)
     * @param failMode       what to do when {@code session.start} cannot be written
     * @param flowsPerDevice concurrent tunnels one device may have ({@code limits.flowsPerDevice})
     */
    public Sessions(AuditSink audit, Executor workers, Clock clock, SessionFlows flows,
                    Function<String, Instant> leaseUntil, FailMode failMode, int flowsPerDevice) {
        this.audit = Objects.requireNonNull(audit, "audit");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.flows = Objects.requireNonNull(flows, "flows");
        this.leaseUntil = Objects.requireNonNull(leaseUntil, "leaseUntil");
        this.failMode = Objects.requireNonNull(failMode, "failMode");
        if (flowsPerDevice < 1) {
            throw new IllegalArgumentException("limits.flowsPerDevice: expected at least 1, found " + flowsPerDevice);
        }
        this.flowsPerDevice = flowsPerDevice;
        flows.onCloseAll(this::endDevice);
    }

    public int flowsPerDevice() {
        return flowsPerDevice;
    }

    /** Whether a trail that cannot be written lets sessions in unrecorded ({@code audit.failMode: open}). */
    public boolean failOpen() {
        return failMode == FailMode.OPEN;
    }

    /**
     * The connection's session, started now if it has none (or its last one ended). Blocks until
     * {@code session.start} is durable.
     *
     * @param grounds what the admission that starts it rests on (its posture decision, the policy
     *                versions), recorded in {@code session.start}; unused when the session is live
     * @throws AuditUnavailableException when it cannot be written and {@code audit.failMode} is closed
     */
    public Session admit(Channel connection, Session.Who who, Grounds grounds) {
        return admit(connection, who, grounds, null);
    }

    /**
     * {@link #admit(Channel, Session.Who, Grounds)} for a VPN link: a session started now records
     * {@code vpn}'s address and transport in its {@code session.start}; a live one is given them.
     */
    public Session admit(Channel connection, Session.Who who, Grounds grounds, @Nullable VpnLink vpn) {
        Objects.requireNonNull(grounds, "grounds");
        var attr = connection.attr(KEY);
        while (true) {
            Session current = attr.get();
            if (current != null && !current.isEnded()) {
                try {
                    current.started.join(); // another tunnel of this connection is starting it
                } catch (CompletionException e) {
                    if (e.getCause() instanceof AuditUnavailableException u) {
                        throw u;
                    }
                    throw e;
                }
                if (!current.isEnded()) {
                    if (vpn != null) {
                        current.vpn(vpn);
                    }
                    return current;
                }
                continue;
            }
            Session fresh = new Session(UUID.randomUUID().toString(), who, grounds, connection, this, clock.instant());
            if (vpn != null) {
                fresh.vpn(vpn);
            }
            if (attr.compareAndSet(current, fresh)) {
                start(fresh);
                return fresh;
            }
        }
    }

    private void start(Session s) {
        Instant now = clock.instant();
        s.since(now);
        try {
            VpnLink vpn = s.vpn();
            audit.record(s.grounds().addTo(s.audit("session.start", now)
                    .with("address", vpn == null ? null : vpn.addresses())
                    .with("transport", vpn == null ? null : vpn.transport())
                    .with("leaseUntil", Objects.toString(leaseUntil.apply(s.who().device()), null)))
                    .build());
        } catch (AuditUnavailableException e) {
            if (failMode == FailMode.CLOSED) {
                s.connection().attr(KEY).compareAndSet(s, null);
                s.started.completeExceptionally(e);
                throw e;
            }
            LOG.error("AUDIT FAIL-OPEN: {} admitted WITHOUT a session.start record (audit.failMode: open): {}",
                    s, e.getMessage());
        }
        live.put(s.id(), s);
        s.started.complete(null);
        s.connection().closeFuture().addListener((ChannelFutureListener) f -> s.end(SessionEnd.CLIENT_CLOSED, null));
    }

    @Override
    public List<SessionInfo> sessions() {
        return live.values().stream()
                .sorted(Comparator.comparing((Session s) -> s.since()).thenComparing(Session::id))
                .map(this::info)
                .toList();
    }

    private SessionInfo info(Session s) {
        VpnLink vpn = s.vpn();
        return new SessionInfo(s.id(), s.who().device(), s.who().user(), s.who().source(), s.who().via(), s.since(),
                s.liveFlows(), s.bytesUp(), s.bytesDown(), leaseUntil.apply(s.who().device()),
                vpn == null ? null : vpn.addresses(), vpn == null ? null : vpn.transport());
    }

    @Override
    public boolean kill(String sessionId, String by) {
        Session s = live.get(Objects.requireNonNull(sessionId, "sessionId"));
        return s != null && s.end(SessionEnd.KILLED, by);
    }

    /** The live session with this id (tests, admin). */
    public java.util.Optional<Session> find(String sessionId) {
        return java.util.Optional.ofNullable(live.get(sessionId));
    }

    /** Ends every session of a device in the way {@code closeAll(device, how)} closes its flows. */
    void endDevice(String deviceId, FlowEnd how) {
        SessionEnd reason = SessionEnd.of(how);
        if (reason == null) {
            return;
        }
        for (Session s : List.copyOf(live.values())) {
            if (s.who().device().equals(deviceId)) {
                s.end(reason, null);
            }
        }
    }

    /**
     * Ends every session now, its flows and its connection with it ({@code session.end} is written
     * on the workers): the gateway's registry view went stale ({@link SessionEnd#REGISTRY_UNAVAILABLE}).
     *
     * @return how many sessions were ended
     */
    public int endAll(SessionEnd reason) {
        Objects.requireNonNull(reason, "reason");
        int ended = 0;
        for (Session s : List.copyOf(live.values())) {
            if (s.end(reason, null)) {
                ended++;
            }
        }
        return ended;
    }

    /**
     * Remote-work hours, called every second while {@code access.endSessionsAtWindowEnd} is on:
     * ends ({@link SessionEnd#OUTSIDE_HOURS}) each live session a window of hours admitted a flow of,
     * once the earliest such window has ended by {@code now} and {@code anyRuleOpen} says no rule of
     * its owner's groups is open: every rule that could admit anything of it is closed. Its flows
     * close with {@code outside_hours} before {@code session.end}. A session no window ever admitted
     * a flow of (only always-open rules, or a VPN link with no flow yet) is left alone, so a
     * session is never ended at once after it started.
     *
     * @param anyRuleOpen whether some access rule naming one of these groups is open now
     * @return how many sessions were ended
     */
    public int endOutsideHours(Instant now, Predicate<Set<String>> anyRuleOpen) {
        int ended = 0;
        for (Session s : List.copyOf(live.values())) {
            Session.Window w = s.window(); // the end and the groups of one moment
            if (w != null && !now.isBefore(w.firstEnd()) && !anyRuleOpen.test(w.groups())
                    && s.end(SessionEnd.OUTSIDE_HOURS, null)) {
                ended++;
            }
        }
        return ended;
    }

    /**
     * Gateway shutdown: ends every session ({@code gateway_shutdown}) and waits, at most
     * {@code wait}, until their {@code session.end} records are written.
     *
     * @return whether every record was written in time
     */
    public boolean shutdown(Duration wait) {
        for (Session s : List.copyOf(live.values())) {
            s.end(SessionEnd.GATEWAY_SHUTDOWN, null);
        }
        long deadline = System.nanoTime() + wait.toNanos();
        synchronized (endsPending) {
            while (!live.isEmpty() || endsPending.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOG.warn("shutdown: {} sessions still ending after {}", live.size() + endsPending.get(), wait);
                    return false;
                }
                try {
                    endsPending.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    /** How many sessions are live (metrics). */
    public int size() {
        return live.size();
    }

    SessionFlows flows() {
        return flows;
    }

    /** The session ended: not live any more; the connection may start another. */
    void ended(Session s) {
        endsPending.incrementAndGet();
        live.remove(s.id());
        s.connection().attr(KEY).compareAndSet(s, null);
    }

    /**
     * On a worker: {@code session.end}, after every flow of it is closed and recorded. The session
     * has ended whether or not the trail can take it now: a trail that cannot keeps it and writes it
     * once it can ({@code recordOrDefer}).
     */
    void writeEnd(Session s) {
        Runnable write = () -> {
            try {
                if (!audit.recordOrDefer(s.endRecord(clock.instant()))) {
                    LOG.warn("{} ended ({}); its session.end waits for the audit trail to be writable again", s,
                            s.ended().wireName());
                }
            } catch (AuditUnavailableException e) {
                LOG.error("{} ended ({}) but session.end could not be recorded: {}", s, s.ended().wireName(),
                        e.getMessage());
            } finally {
                synchronized (endsPending) {
                    endsPending.decrementAndGet();
                    endsPending.notifyAll();
                }
            }
        };
        try {
            workers.execute(write);
        } catch (RejectedExecutionException e) {
            write.run(); // shutting down: record it here rather than lose it
        }
    }
}
