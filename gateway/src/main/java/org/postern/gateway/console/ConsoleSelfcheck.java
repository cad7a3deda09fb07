package org.postern.gateway.console;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

import org.jspecify.annotations.Nullable;
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

    private final ConsoleServices s;
    private final ClockCheck.Probe probe;
    private final FreeSpaceCheck.Space space;
    // one run at a time: a second request while one runs is told so instead of queueing a second verification
    private final ReentrantLock running = new ReentrantLock();
    private volatile @Nullable Run last;

    ConsoleSelfcheck(ConsoleServices services) {
        this(services, ClockCheck.hostProbe(), FreeSpaceCheck.fileStore());
    }

    ConsoleSelfcheck(ConsoleServices services, ClockCheck.Probe probe, FreeSpaceCheck.Space space) {
        this.s = Objects.requireNonNull(services, "services");
        this.probe = Objects.requireNonNull(probe, "probe");
        this.space = Objects.requireNonNull(space, "space");
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
            Instant start = s.clock().instant();
            long t0 = System.nanoTime();
            List<Finding> findings = Selfcheck.run(Selfcheck.checks(s.live().current().settings(), s.clock(), probe, space,
                    s.pki().registry()));
            Run r = new Run(start, Duration.ofNanos(System.nanoTime() - t0), admin, findings);
            last = r;
            return r;
        } finally {
            running.unlock();
        }
    }
}
