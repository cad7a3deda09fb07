package org.postern.gateway.relay;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.LongAdder;

import java.util.function.BiConsumer;
import java.util.function.Supplier;

import io.netty.channel.Channel;
import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.AccessRules;
import org.postern.gateway.session.FlowEnd;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionFlows;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live flows, by device, and the hook that ends them: when a device's lease ends the session
 * layer calls {@link #closeAll closeAll(deviceId, LEASE_ENDED)}, which cuts every tunnel of that
 * device at once (no flush wait), so they are gone well within the 2 s the design promises.
 * Also where {@code flow.close} is written, on the workers (the audit trail blocks). Thread-safe.
 */
public final class FlowRegistry implements SessionFlows {

    private static final Logger LOG = LoggerFactory.getLogger(FlowRegistry.class);

    /** The access settings in force (a reload swaps them): whether windowed tunnels end, and the agent's lead. */
    private volatile Supplier<AccessRules> access = AccessRules::denyAll;
    private final Map<String, Set<Flow>> byDevice = new ConcurrentHashMap<>();
    /** Flows open or admitted and connecting, per device ({@code limits.flowsPerDevice}). */
    private final Map<String, Integer> slots = new ConcurrentHashMap<>();
    private volatile BiConsumer<String, FlowEnd> closeAllListener = (device, how) -> {
    };
    private final AuditSink audit;
    private final Executor workers;
    private final Clock clock;
    private final RelaySettings settings;
    private final LongAdder relayedUp = new LongAdder();
    private final LongAdder relayedDown = new LongAdder();

    /**
     * @param audit    where {@code flow.open}, {@code flow.close} and {@code access.denied} go
     * @param workers  runs the blocking work (audit, registry, DNS), never the event loop
     * @param clock    times flows
     * @param settings relay timings
     */
    public FlowRegistry(AuditSink audit, Executor workers, Clock clock, RelaySettings settings) {
        this.audit = Objects.requireNonNull(audit, "audit");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /**
     * Ends every live flow of a device now.
     *
     * @return how many flows were ended
     */
    public int closeAll(String deviceId, FlowEnd how) {
        Objects.requireNonNull(how, "how");
        Set<Flow> flows = byDevice.get(deviceId);
        List<Flow> now = flows == null ? List.of() : List.copyOf(flows);
        closeAllListener.accept(deviceId, how); // the session layer ends the device's sessions the same way
        now.forEach(f -> f.close(how)); // (already closed by their session's end, or of no session)
        return now.size();
    }

    /**
     * Ends every live flow of every device now (and, through {@link #closeAll}, their sessions):
     * the gateway's registry view went stale.
     *
     * @return how many flows were ended
     */
    public int closeEvery(FlowEnd how) {
        int closed = 0;
        for (String device : List.copyOf(byDevice.keySet())) {
            closed += closeAll(device, how);
        }
        return closed;
    }

    /** Who hears {@link #closeAll} first: the session layer, which ends the device's sessions with that reason. */
    @Override
    public void onCloseAll(BiConsumer<String, FlowEnd> listener) {
        closeAllListener = Objects.requireNonNull(listener, "listener");
    }

    /** Ends the flows of one session now. */
    @Override
    public void closeSession(Session session, FlowEnd how) {
        Set<Flow> flows = byDevice.get(session.who().device());
        if (flows != null) {
            List.copyOf(flows).stream().filter(f -> f.session == session).forEach(f -> f.close(how));
        }
    }

    /**
     * Takes one of the device's {@code limit} flow slots for a tunnel about to open; false when all
     * are taken. The slot is given back when the flow ends, or by {@link #unreserve} if it never opens.
     */
    public boolean reserve(String deviceId, int limit) {
        boolean[] taken = {false};
        slots.compute(deviceId, (d, n) -> {
            int now = n == null ? 0 : n;
            if (now >= limit) {
                return n;
            }
            taken[0] = true;
            return now + 1;
        });
        return taken[0];
    }

    /** Gives back a slot taken by {@link #reserve}. */
    public void unreserve(String deviceId) {
        slots.computeIfPresent(deviceId, (d, n) -> n <= 1 ? null : n - 1);
    }

    /** How many flows the device has open. */
    public int count(String deviceId) {
        Set<Flow> flows = byDevice.get(deviceId);
        return flows == null ? 0 : flows.size();
    }

    /** How many flows are open on this gateway (for metrics). */
    public int size() {
        return byDevice.values().stream().mapToInt(Set::size).sum();
    }

    /** Bytes relayed laptop → admin hosts by every flow so far (for metrics; monotonic). */
    public long bytesRelayedUp() {
        return relayedUp.sum();
    }

    /** Bytes relayed admin hosts → laptop by every flow so far (for metrics; monotonic). */
    public long bytesRelayedDown() {
        return relayedDown.sum();
    }

    void relayed(TunnelRelayHandler.Side from, int bytes) {
        (from == TunnelRelayHandler.Side.CLIENT ? relayedUp : relayedDown).add(bytes);
    }

    /**
     * Where the answers that open a windowed tunnel find whether the gateway ends it at its window's
     * end ({@code access.endSessionsAtWindowEnd}) and how long before that the agent should warn its
     * user ({@code access.warnBeforeWindowEnd}); read afresh for each tunnel so a reload applies to the
     * next one. Until the gateway sets it: no tunnel is ended, none is announced.
     */
    public void accessSettings(Supplier<AccessRules> settings) {
        access = Objects.requireNonNull(settings, "settings");
    }

    /**
     * The lead the agent is told for a tunnel a window admitted, or null when the gateway does not end
     * such tunnels ({@code access.endSessionsAtWindowEnd: false}): then nothing is announced, so the
     * agent does not warn of an end that will not come.
     */
    @Nullable Duration windowWarning() {
        AccessRules rules = access.get();
        return rules.endSessionsAtWindowEnd() ? rules.warnBeforeWindowEnd() : null;
    }

    /**
     * Ends, with {@link FlowEnd#OUTSIDE_HOURS}, every flow whose admitting rule's window has closed
     * by now on the clock ({@code access.endSessionsAtWindowEnd}: the gateway calls this every second
     * while the option is on). Flows of always-open rules are left alone.
     *
     * @return how many flows were ended
     */
    public int closeOutsideHours() {
        return closeOutsideHours(clock.instant());
    }

    /** {@link #closeOutsideHours()} as of {@code now}: the instant the gateway's sweep judged its sessions at. */
    public int closeOutsideHours(Instant now) {
        int closed = 0;
        for (Set<Flow> flows : byDevice.values()) {
            for (Flow f : List.copyOf(flows)) {
                if (f.until != null && !now.isBefore(f.until) && !f.isClosed()) {
                    f.close(FlowEnd.OUTSIDE_HOURS);
                    closed++;
                }
            }
        }
        return closed;
    }

    Flow open(String id, Flow.Endpoints who, Channel client, Channel server, Session session) {
        return open(id, who, client, server, session, null);
    }

    Flow open(String id, Flow.Endpoints who, Channel client, Channel server, Session session,
              @Nullable Instant until) {
        Flow flow = new Flow(id, who, client, server, this, clock.instant(), session, until);
        byDevice.computeIfAbsent(who.device(), d -> ConcurrentHashMap.newKeySet()).add(flow);
        return flow;
    }

    /** The device's flows (tests). */
    List<Flow> flowsOf(String deviceId) {
        Set<Flow> flows = byDevice.get(deviceId);
        return flows == null ? List.of() : List.copyOf(flows);
    }

    void remove(Flow flow) {
        byDevice.computeIfPresent(flow.who.device(), (d, flows) -> {
            flows.remove(flow);
            return flows.isEmpty() ? null : flows;
        });
        unreserve(flow.who.device());
    }

    void recordClose(Flow flow, FlowEnd how, Duration duration) {
        Runnable write = () -> {
            try {
                // the flow has closed: a trail that cannot take it now keeps it for later, in order
                audit.recordOrDefer(flow.audit("flow.close", clock.instant())
                        .with("bytesUp", flow.bytesUp())
                        .with("bytesDown", flow.bytesDown())
                        .with("durationMs", duration.toMillis())
                        .with("how", how.wireName())
                        .build());
            } catch (AuditUnavailableException e) {
                LOG.error("{}: closed ({}) but flow.close could not be recorded: {}", flow, how.wireName(), e.getMessage());
            } finally {
                flow.session.flowGone(); // session.end comes after the flow.close of every flow
            }
        };
        try {
            workers.execute(write);
        } catch (RejectedExecutionException e) {
            write.run(); // shutting down: record it on this thread rather than lose it
        }
    }

    AuditSink audit() {
        return audit;
    }

    Executor workers() {
        return workers;
    }

    Clock clock() {
        return clock;
    }

    RelaySettings settings() {
        return settings;
    }
}
