package org.postern.gateway.limits;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit sink the listeners write refusals through: what an unauthenticated peer causes is
 * written in full only for the first {@code perWindow} records of a kind from its source address
 * in a window (default 5 a minute); the rest are counted, and when the window ends one record of
 * the same type says how many more there were ({@code more}: "N more like this from ADDR in the last
 * 60s"). So one client cannot fill the audit disk, and nothing is dropped without being counted.
 *
 * <p>Rate-limited: {@code tls.rejected}, {@code access.denied} and {@code http.denied} without a
 * device (no client certificate) and without a session, and {@code connection.denied} of a refused
 * PROXY header ({@code proxy.*}: the gateway's own per-source refusals count themselves); a kind is the source address (without
 * port), the type and the {@code reason}. Everything else passes straight to the trail, with its
 * failures. The windows are bounded ({@code maxSources}, Caffeine): one pushed out early writes its
 * count then. {@link #close} writes every open window's count; close it before the trail.
 */
public final class RefusalThrottle implements AuditSink {

    public static final int PER_WINDOW = 5;
    public static final Duration WINDOW = Duration.ofMinutes(1);
    public static final long MAX_SOURCES = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(RefusalThrottle.class);
    private static final Set<String> UNAUTHENTICATED = Set.of("access.denied", "http.denied");

    /** One kind of refusal from one address. */
    private record Kind(String source, String type, String reason) {
    }

    private final AuditSink trail;
    private final Clock clock;
    private final SourceBudget<Kind> budget;

    /** The gateway's: 5 a minute per kind, 10,000 kinds, windows closed on time by Caffeine's system scheduler. */
    public static RefusalThrottle of(AuditSink trail, Clock clock, Executor workers) {
        return new RefusalThrottle(trail, clock, Ticker.systemTicker(), workers, Scheduler.systemScheduler(),
                PER_WINDOW, WINDOW, MAX_SOURCES);
    }

    RefusalThrottle(AuditSink trail, Clock clock, Ticker ticker, Executor workers, Scheduler scheduler, int perWindow,
                    Duration window, long maxSources) {
        this.trail = Objects.requireNonNull(trail, "trail");
        this.clock = Objects.requireNonNull(clock, "clock");
        // the counts are written on the workers: the trail blocks
        this.budget = new SourceBudget<>(perWindow, window, maxSources, ticker, workers, scheduler, this::aggregate);
    }

    @Override
    public void record(AuditEvent event) {
        Kind kind = kindOf(event);
        if (kind != null && !budget.admit(kind)) {
            return; // counted
        }
        trail.record(event);
    }

    /** One record for what a window counted. */
    private void aggregate(Kind kind, long more, Duration over) {
        long seconds = Math.max(1, over.toSeconds());
        AuditEvent aggregate = AuditEvent.of(kind.type(), clock.instant())
                .with("source", kind.source())
                .with("reason", kind.reason())
                .with("more", more)
                .with("windowSeconds", seconds)
                .with("detail", more + " more like this from " + kind.source() + " in the last " + seconds + "s (the first "
                        + budget.perWindow() + " were recorded in full; at most " + budget.perWindow() + " per "
                        + budget.window().toSeconds() + "s per source and reason)")
                .build();
        try {
            trail.record(aggregate);
        } catch (AuditUnavailableException e) {
            LOG.error("{} {}: {} more from {} could not be recorded: {}", kind.type(), kind.reason(), more, kind.source(),
                    e.getMessage());
        }
    }

    /** The rate-limited kind of this event, or null when it is written as it is. */
    private static @Nullable Kind kindOf(AuditEvent e) {
        var f = e.fields();
        boolean limited = e.type().equals("tls.rejected")
                || UNAUTHENTICATED.contains(e.type()) && !f.containsKey("device") && !f.containsKey("session")
                || e.type().equals("connection.denied") && Objects.toString(f.get("reason"), "").startsWith("proxy.");
        if (!limited || f.containsKey("more")) {
            return null;
        }
        return new Kind(address(Objects.toString(f.get("source"), "unknown")), e.type(),
                Objects.toString(f.get("reason"), "none"));
    }

    /** {@code ip:port} or {@code [v6]:port} without its port. */
    static String address(String source) {
        if (source.startsWith("[")) {
            int end = source.indexOf(']');
            return end > 0 ? source.substring(1, end) : source;
        }
        int colon = source.indexOf(':');
        return colon > 0 && colon == source.lastIndexOf(':') ? source.substring(0, colon) : source;
    }

    /** Writes the count of every open window (shutdown; before the trail closes). */
    @Override
    public void close() {
        budget.close();
    }

    /** Closes the windows that are over now (tests; Caffeine's scheduler does it in the gateway). */
    void cleanUp() {
        budget.cleanUp();
    }
}
