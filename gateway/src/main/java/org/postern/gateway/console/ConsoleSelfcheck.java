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

    /**
     * What a request to run got.
     *
     * @param result {@code done} (it ran now), {@code busy} (another run was under way) or {@code recent} (the
     *               last run ended less than {@link #MIN_INTERVAL} ago): the {@code result} of its audit record
     * @param run    the run it ran, or the last one (null when busy before any run ended)
     */
    record Outcome(String result, @Nullable Run run) {
        static final String DONE = "done";
        static final String BUSY = "busy";
        static final String RECENT = "recent";

        Outcome {
            if (!java.util.Set.of(DONE, BUSY, RECENT).contains(result)) {
                throw new IllegalArgumentException("result: expected done, busy or recent, found " + result);
            }
            if (!result.equals(BUSY)) {
                Objects.requireNonNull(run, "run");
            }
        }

        /** The {@code detail} of its audit record. */
        String detail(Instant now) {
            return switch (result) {
                case DONE -> "worst " + run.worst().spelling() + ": " + run.counts();
                case BUSY -> "a run was under way";
                default -> "answered with the run by " + run.by() + " that ended "
                        + Duration.between(run.ranAt().plus(run.took()), now).toSeconds() + " s ago";
            };
        }
    }

    /**
     * Runs closer together than this are answered with the last one: back-to-back POSTs (a held-down
     * reload, a script) must not keep a console worker verifying the trails over and over.
     */
    static final Duration MIN_INTERVAL = Duration.ofSeconds(60);

    private final Clock clock;
    private final Supplier<List<Check>> checks;
    private final Duration minInterval;
    // one run at a time: a second request while one runs is told so instead of queueing a second verification
    private final ReentrantLock running = new ReentrantLock();
    private volatile @Nullable Run last;

    /** The checks of {@code postern selfcheck} on the settings in force at each run, with the gateway's registry. */
    ConsoleSelfcheck(ConsoleServices s) {
        this(s.clock(), () -> Selfcheck.checks(s.live().current().settings(), s.clock(), ClockCheck.hostProbe(),
                FreeSpaceCheck.fileStore(), s.pki().registry()), MIN_INTERVAL);
    }

    /** With {@code checks} built afresh for each run, runs at least {@code minInterval} apart. */
    ConsoleSelfcheck(Clock clock, Supplier<List<Check>> checks, Duration minInterval) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.checks = Objects.requireNonNull(checks, "checks");
        this.minInterval = Objects.requireNonNull(minInterval, "minInterval");
        if (minInterval.isNegative()) {
            throw new IllegalArgumentException("minInterval: expected zero or more, found " + minInterval);
        }
    }

    /** The last run since the gateway started, or null. */
    @Nullable Run last() {
        return last;
    }

    /**
     * Runs the checks now for {@code admin}, unless another run is under way ({@code busy}) or the last
     * ended less than the minimum interval ago ({@code recent}): then the last run is the answer.
     */
    Outcome run(String admin) {
        if (!running.tryLock()) {
            return new Outcome(Outcome.BUSY, last);
        }
        try {
            Run previous = last;
            Instant start = clock.instant();
            if (previous != null && start.isBefore(previous.ranAt().plus(previous.took()).plus(minInterval))) {
                return new Outcome(Outcome.RECENT, previous);
            }
            long t0 = System.nanoTime();
            List<Finding> findings = Selfcheck.run(checks.get());
            Run r = new Run(start, Duration.ofNanos(System.nanoTime() - t0), admin, findings);
            last = r;
            return new Outcome(Outcome.DONE, r);
        } finally {
            running.unlock();
        }
    }
}
