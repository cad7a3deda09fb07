package org.postern.gateway.limits;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
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
 * <p>Rate-limited: {@code tls.rejected}, and {@code access.denied} and {@code http.denied} without a
 * device (no client certificate) and without a session; a kind is the source address (without
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

    /** A kind's current window. */
    private static final class Window {
        final long startNanos;
        int written;
        long more;
        boolean closed;

        Window(long startNanos) {
            this.startNanos = startNanos;
        }
    }

    private final AuditSink trail;
    private final Clock clock;
    private final Ticker ticker;
    private final int perWindow;
    private final Duration window;
    private final Cache<Kind, Window> windows;

    /** The gateway's: 5 a minute per kind, 10,000 kinds, windows closed on time by Caffeine's system scheduler. */
    public static RefusalThrottle of(AuditSink trail, Clock clock, Executor workers) {
        return new RefusalThrottle(trail, clock, Ticker.systemTicker(), workers, Scheduler.systemScheduler(),
                PER_WINDOW, WINDOW, MAX_SOURCES);
    }

    RefusalThrottle(AuditSink trail, Clock clock, Ticker ticker, Executor workers, Scheduler scheduler, int perWindow,
                    Duration window, long maxSources) {
        this.trail = Objects.requireNonNull(trail, "trail");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.perWindow = perWindow;
        this.window = window;
        Executor executor = task -> {
            try {
                workers.execute(task); // the trail blocks: not on Caffeine's or the scheduler's thread
            } catch (RejectedExecutionException e) {
                task.run(); // shutting down: the count is still written
            }
        };
        this.windows = Caffeine.newBuilder()
                .maximumSize(maxSources)
                .expireAfter(Expiry.creating((Kind k, Window w) -> window))
                .ticker(ticker)
                .executor(executor)
                .scheduler(scheduler)
                .<Kind, Window>removalListener((k, w, cause) -> {
                    if (k != null && w != null) {
                        report(k, w);
                    }
                })
                .build();
    }

    @Override
    public void record(AuditEvent event) {
        Kind kind = kindOf(event);
        if (kind != null && !admit(kind)) {
            return; // counted
        }
        trail.record(event);
    }

    /** Whether this one is written in full; else it was counted in its window. */
    private boolean admit(Kind kind) {
        while (true) {
            Window w = windows.get(kind, k -> new Window(ticker.read()));
            synchronized (w) {
                if (w.closed) {
                    continue; // reported just now: a new window
                }
                if (w.written < perWindow) {
                    w.written++;
                    return true;
                }
                w.more++;
                return false;
            }
        }
    }

    /** The end of a window: its count, when it counted anything. Once per window. */
    private void report(Kind kind, Window w) {
        long more;
        synchronized (w) {
            if (w.closed) {
                return;
            }
            w.closed = true;
            more = w.more;
        }
        if (more == 0) {
            return;
        }
        long seconds = Math.max(1, Math.min(window.toSeconds(), Duration.ofNanos(ticker.read() - w.startNanos).toSeconds()));
        AuditEvent aggregate = AuditEvent.of(kind.type(), clock.instant())
                .with("source", kind.source())
                .with("reason", kind.reason())
                .with("more", more)
                .with("windowSeconds", seconds)
                .with("detail", more + " more like this from " + kind.source() + " in the last " + seconds + "s (the first "
                        + perWindow + " were recorded in full; at most " + perWindow + " per " + window.toSeconds()
                        + "s per source and reason)")
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
                || UNAUTHENTICATED.contains(e.type()) && !f.containsKey("device") && !f.containsKey("session");
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
        for (var e : List.copyOf(windows.asMap().entrySet())) {
            report(e.getKey(), e.getValue());
        }
        windows.invalidateAll();
    }

    /** Closes the windows that are over now (tests; Caffeine's scheduler does it in the gateway). */
    void cleanUp() {
        windows.cleanUp();
    }
}
