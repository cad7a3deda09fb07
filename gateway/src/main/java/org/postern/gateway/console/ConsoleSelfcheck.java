package org.postern.gateway.console;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
import org.postern.gateway.selfcheck.Check;
import org.postern.gateway.selfcheck.ClockCheck;
import org.postern.gateway.selfcheck.Finding;
import org.postern.gateway.selfcheck.FreeSpaceCheck;
import org.postern.gateway.selfcheck.Selfcheck;
import org.postern.gateway.selfcheck.Severity;

/**
 * The selfcheck as the console runs it: the checks of {@code postern selfcheck} on the settings in
 * force, with the gateway's own registry, and the last result kept with its time. A run reads files,
 * runs the clock commands and verifies the trails, so it may take a while: it runs on a console
 * worker when an admin asks, one at a time, never on a page view.
 */
final class ConsoleSelfcheck {

    /**
     * One run.
     *
     * @param ranAt    when it started
     * @param took     how long it took
     * @param by       the admin who asked for it
     * @param findings in the order the checks ran
     */
    record Run(Instant ranAt, Duration took, String by, List<Finding> findings) {
        Run {
            Objects.requireNonNull(ranAt, "ranAt");
            Objects.requireNonNull(took, "took");
            Objects.requireNonNull(by, "by");
            findings = List.copyOf(findings);
        }

        Severity worst() {
            return Selfcheck.worst(findings);
        }

        long count(Severity s) {
            return findings.stream().filter(f -> f.severity() == s).count();
        }

        /** Like the last line of {@code postern selfcheck}: "0 critical, 3 warning, 11 info". */
        String counts() {
            return count(Severity.CRITICAL) + " critical, " + count(Severity.WARNING) + " warning, " + count(Severity.INFO) + " info";
        }
    }

    private final Clock clock;
    private final Supplier<List<Check>> checks;
    // one run at a time: a second request while one runs is told so instead of queueing a second verification
    private final ReentrantLock running = new ReentrantLock();
    private volatile @Nullable Run last;

    /** The checks of {@code postern selfcheck} on the settings in force at each run, with the gateway's registry. */
    ConsoleSelfcheck(ConsoleServices s) {
        this(s.clock(), () -> Selfcheck.checks(s.live().current().settings(), s.clock(), ClockCheck.hostProbe(),
                FreeSpaceCheck.fileStore(), s.pki().registry()));
    }

    /** With {@code checks} built afresh for each run. */
    ConsoleSelfcheck(Clock clock, Supplier<List<Check>> checks) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.checks = Objects.requireNonNull(checks, "checks");
    }

    /** The last run since the gateway started, or null. */
    @Nullable Run last() {
        return last;
    }

    /** Runs the checks now for {@code admin}; null when another run is under way. */
    @Nullable Run run(String admin) {
        if (!running.tryLock()) {
            return null;
        }
        try {
            Instant start = clock.instant();
            long t0 = System.nanoTime();
            List<Finding> findings = Selfcheck.run(checks.get());
            Run r = new Run(start, Duration.ofNanos(System.nanoTime() - t0), admin, findings);
            last = r;
            return r;
        } finally {
            running.unlock();
        }
    }
}
