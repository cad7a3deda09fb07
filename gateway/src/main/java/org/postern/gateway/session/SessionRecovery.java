package org.postern.gateway.session;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.TrailSince;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A clean stop and what an unclean one left behind (docs/audit.md, "Outages and crashes"). A
 * gateway that stops cleanly, with every session and flow end in its trail, ends its records with
 * {@code gateway.stop}. A run that ends otherwise — kill -9, a crash, power loss, a stop while the
 * trail could not be written — leaves sessions and flows open in the trail; at the next start
 * {@link #recover} finds them (each {@code session.start}/{@code flow.open} after the last
 * {@code gateway.stop} or {@code gateway.recovered} without its end) and writes a
 * {@code flow.close} ({@code how: gateway_crashed}) and a {@code session.end}
 * ({@code reason: gateway_crashed}) for each, timed when the previous run was last known alive
 * (its last record), then one {@code gateway.recovered}. The trail is the only source: nothing is
 * assumed that it does not say.
 */
public final class SessionRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(SessionRecovery.class);

    /** Written last at a clean stop: every session and flow before it has its end in the trail. */
    public static final String STOP = "gateway.stop";
    /** Written at a start after an unclean stop, after the ends it supplied. */
    public static final String RECOVERED = "gateway.recovered";
    /** The {@code session.end} reason and {@code flow.close} how of what an unclean stop left open. */
    public static final String CRASHED = "gateway_crashed";

    private static final List<String> WHO = List.of("session", "device", "user", "certSerial", "certSha256", "source", "via");
    private static final List<String> FLOW = List.of("flow", "dest", "destAddress");

    /**
     * What a start found and closed.
     *
     * @param sessions sessions the previous run left open, now ended
     * @param flows    flows it left open, now closed
     * @param lastSeen the time of the previous run's last record (null for an empty trail)
     */
    public record Recovered(int sessions, int flows, Instant lastSeen) {
    }

    private SessionRecovery() {
    }

    /**
     * Closes what the previous run left open, before the gateway takes connections. The ends go
     * through {@link AuditTrail#recordOrDefer}: a trail that cannot be written now keeps them for
     * later (and if this run stops before they are written, the next start finds the same ends
     * missing and writes them then).
     *
     * @return what was closed, or null when the previous run stopped cleanly or left nothing open
     */
    public static @Nullable Recovered recover(AuditTrail trail, Clock clock) throws IOException {
        Map<String, JsonNode> sessions = new LinkedHashMap<>();
        Map<String, JsonNode> flows = new LinkedHashMap<>();
        Map<String, Integer> flowsOf = new LinkedHashMap<>();
        TrailSince.Tail tail = TrailSince.readAfterLast(trail.directory(), Set.of(STOP, RECOVERED),
                Set.of("session.start", "session.end", "flow.open", "flow.close"), r -> {
                    String session = r.path("session").asText("");
                    switch (r.path("type").asText()) {
                        case "session.start" -> sessions.put(session, r);
                        case "session.end" -> sessions.remove(session);
                        case "flow.open" -> {
                            flows.put(r.path("flow").asText(""), r);
                            flowsOf.merge(session, 1, Integer::sum);
                        }
                        case "flow.close" -> flows.remove(r.path("flow").asText(""));
                        default -> { }
                    }
                });
        if (sessions.isEmpty() && flows.isEmpty()) {
            return null;
        }
        Instant lastSeen = tail.lastTime() != null ? tail.lastTime() : clock.instant();
        LOG.warn("the previous run of the gateway did not stop cleanly (its last record: seq {} at {}); "
                        + "closing the {} sessions and {} flows it left open as {}",
                tail.lastSeq(), lastSeen, sessions.size(), flows.size(), CRASHED);
        long droppedBefore = trail.droppedTotal();
        boolean durable = true;
        // flows first: a session.end follows the flow.close of every flow it had
        for (JsonNode f : flows.values()) {
            AuditEvent.Builder b = AuditEvent.of("flow.close", lastSeen);
            copy(f, WHO, b);
            copy(f, FLOW, b);
            durable &= trail.recordOrDefer(b.with("durationMs", millisSince(f, lastSeen)).with("how", CRASHED).build());
        }
        for (Map.Entry<String, JsonNode> s : sessions.entrySet()) {
            AuditEvent.Builder b = AuditEvent.of("session.end", lastSeen);
            copy(s.getValue(), WHO, b);
            durable &= trail.recordOrDefer(b.with("reason", CRASHED)
                    .with("flows", flowsOf.getOrDefault(s.getKey(), 0))
                    .with("durationMs", millisSince(s.getValue(), lastSeen)).build());
        }
        if (trail.droppedTotal() > droppedBefore) {
            // some ends did not fit in memory: no gateway.recovered, so the next start looks again
            LOG.error("the trail could not keep every end the previous run left open; the next start closes the rest");
        } else {
            durable &= trail.recordOrDefer(AuditEvent.of(RECOVERED, clock.instant())
                    .with("sessions", sessions.size())
                    .with("flows", flows.size())
                    .with("lastSeq", tail.lastSeq())
                    .with("lastSeen", lastSeen.toString())
                    .with("detail", "no " + STOP + " after the previous run's last record (killed, crashed, or stopped while"
                            + " the trail could not be written); its open sessions and flows are closed as " + CRASHED)
                    .build());
        }
        if (!durable) {
            LOG.warn("the audit trail cannot be written now; the recovered ends wait for it");
        }
        return new Recovered(sessions.size(), flows.size(), lastSeen);
    }

    /**
     * Records {@code gateway.stop} at a clean stop: only when every session and flow end of this
     * run reached the trail (none dropped, none still waiting); otherwise the next start recovers.
     *
     * @param allEnded whether every session ended and its end was recorded or kept before the stop
     * @return whether {@code gateway.stop} is durable
     */
    public static boolean stopped(AuditTrail trail, Clock clock, boolean allEnded) {
        if (!allEnded || trail.droppedTotal() > 0) {
            LOG.warn("not every session end of this run reached the audit trail; the next start closes what is left open");
            return false;
        }
        try {
            trail.record(AuditEvent.of(STOP, clock.instant()).build());
            return true;
        } catch (AuditUnavailableException e) {
            LOG.error("cannot record {} ({}); the next start closes the sessions left open", STOP, e.getMessage());
            return false;
        }
    }

    private static void copy(JsonNode from, List<String> fields, AuditEvent.Builder to) {
        for (String f : fields) {
            JsonNode v = from.get(f);
            if (v != null && v.isTextual()) {
                to.with(f, v.asText());
            }
        }
    }

    private static long millisSince(JsonNode start, Instant end) {
        try {
            return Math.max(0, Duration.between(Instant.parse(start.path("time").asText()), end).toMillis());
        } catch (java.time.format.DateTimeParseException e) {
            return 0;
        }
    }
}
