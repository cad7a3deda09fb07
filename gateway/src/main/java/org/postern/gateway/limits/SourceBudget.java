package org.postern.gateway.limits;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * At most {@code perWindow} of a kind (a source address, or a source with a reason) per window; the
 * rest are counted, and when a window that counted anything ends, {@code overflow} is told how many
 * ({@link #admit}). A window starts with the first of its kind and lasts {@code window} (fixed, not
 * extended by later ones). The windows are a Caffeine cache bounded to {@code maxKinds}: one pushed
 * out early reports its count then; {@link #close} reports every open one. The trail and the log
 * share it ({@link RefusalThrottle}, {@link PeerErrorHandler}).
 */
final class SourceBudget<K> implements AutoCloseable {

    /** What a window counted and did not let through: {@code more}, within {@code over}. */
    @FunctionalInterface
    interface Overflow<K> {
        void report(K kind, long more, Duration over);
    }

    private static final class Window {
        final long startNanos;
        int admitted;
        long more;
        boolean closed;

        Window(long startNanos) {
            this.startNanos = startNanos;
        }
    }

    private final int perWindow;
    private final Duration window;
    private final Ticker ticker;
    private final Overflow<K> overflow;
    private final Cache<K, Window> windows;

    SourceBudget(int perWindow, Duration window, long maxKinds, Ticker ticker, Executor executor, Scheduler scheduler,
                 Overflow<K> overflow) {
        if (perWindow < 1) {
            throw new IllegalArgumentException("expected at least 1 per window, found " + perWindow);
        }
        this.perWindow = perWindow;
        this.window = Objects.requireNonNull(window, "window");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.overflow = Objects.requireNonNull(overflow, "overflow");
        Executor reporting = task -> {
            try {
                executor.execute(task);
            } catch (RejectedExecutionException e) {
                task.run(); // shutting down: the count is still reported
            }
        };
        this.windows = Caffeine.newBuilder()
                .maximumSize(maxKinds)
                .expireAfter(Expiry.creating((K k, Window w) -> window))
                .ticker(ticker)
                .executor(reporting)
                .scheduler(scheduler)
                .<K, Window>removalListener((k, w, cause) -> {
                    if (k != null && w != null) {
                        report(k, w);
                    }
                })
                .build();
    }

    int perWindow() {
        return perWindow;
    }

    Duration window() {
        return window;
    }

    /** Whether this one is let through; else it was counted in its window. */
    boolean admit(K kind) {
        while (true) {
            Window w = windows.get(kind, k -> new Window(ticker.read()));
            synchronized (w) {
                if (w.closed) {
                    continue; // reported just now: a new window
                }
                if (w.admitted < perWindow) {
                    w.admitted++;
                    return true;
                }
                w.more++;
                return false;
            }
        }
    }

    /** The end of a window: its count, when it counted anything. Once per window. */
    private void report(K kind, Window w) {
        long more;
        synchronized (w) {
            if (w.closed) {
                return;
            }
            w.closed = true;
            more = w.more;
        }
        if (more > 0) {
            Duration elapsed = Duration.ofNanos(ticker.read() - w.startNanos);
            overflow.report(kind, more, elapsed.compareTo(window) > 0 ? window : elapsed);
        }
    }

    /** Reports the count of every open window (shutdown). */
    @Override
    public void close() {
        for (var e : List.copyOf(windows.asMap().entrySet())) {
            report(e.getKey(), e.getValue());
        }
        windows.invalidateAll();
    }

    /** Ends the windows that are over now (tests; Caffeine's scheduler does it in the gateway). */
    void cleanUp() {
        windows.cleanUp();
    }
}
