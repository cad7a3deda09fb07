package org.postern.gateway.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.postern.pki.testing.MutableClock;
import org.junit.jupiter.api.Test;
import org.postern.gateway.selfcheck.Check;
import org.postern.gateway.selfcheck.Finding;
import org.postern.gateway.selfcheck.Severity;

/** The console's selfcheck runs: one at a time, at most one a minute, the last kept with its time and who ran it. */
class ConsoleSelfcheckTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-07T10:00:00Z"), ZoneOffset.UTC);

    /** A check that says {@code severity} once {@code release} opens, after opening {@code started}. */
    private static Check blocking(CountDownLatch started, CountDownLatch release, Severity severity) {
        return new Check() {
            @Override
            public String name() {
                return "slow";
            }

            @Override
            public List<Finding> run() {
                started.countDown();
                try {
                    if (!release.await(10, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("never released");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
                return List.of(new Finding("slow", severity, "the trail is long", "wait"));
            }
        };
    }

    /** A clock that moves only when told. */

    @Test
    void secondRun_whileOneRuns_isBusy_andTheFirstIsKept() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ConsoleSelfcheck sc = new ConsoleSelfcheck(CLOCK, () -> List.of(blocking(started, release, Severity.WARNING)),
                ConsoleSelfcheck.MIN_INTERVAL);
        assertThat(sc.last()).isNull();

        CompletableFuture<ConsoleSelfcheck.Outcome> first = CompletableFuture.supplyAsync(() -> sc.run("sam"));
        assertThat(started.await(10, TimeUnit.SECONDS)).as("the first run started").isTrue();
        ConsoleSelfcheck.Outcome busy = sc.run("audrey");
        // what ConsoleActions records as the admin.action of the refused run
        assertThat(busy.result()).isEqualTo("busy");
        assertThat(busy.run()).isNull();
        assertThat(busy.detail(CLOCK.instant())).isEqualTo("a run was under way");
        assertThat(sc.last()).isNull();
        release.countDown();

        ConsoleSelfcheck.Outcome done = first.get(10, TimeUnit.SECONDS);
        assertThat(done.result()).isEqualTo("done");
        assertThat(done.detail(CLOCK.instant())).isEqualTo("worst warning: 0 critical, 1 warning, 0 info");
        ConsoleSelfcheck.Run run = done.run();
        assertThat(run.by()).isEqualTo("sam");
        assertThat(run.ranAt()).isEqualTo(CLOCK.instant());
        assertThat(run.worst()).isEqualTo(Severity.WARNING);
        assertThat(run.counts()).isEqualTo("0 critical, 1 warning, 0 info");
        assertThat(sc.last()).isSameAs(run);
    }

    @Test
    void eachRun_buildsTheChecksAfresh_andReplacesTheLast() {
        CountDownLatch open = new CountDownLatch(0);
        Severity[] next = {Severity.CRITICAL};
        MutableClock clock = new MutableClock(CLOCK.instant());
        ConsoleSelfcheck sc = new ConsoleSelfcheck(clock, () -> List.of(blocking(new CountDownLatch(1), open, next[0])),
                ConsoleSelfcheck.MIN_INTERVAL);
        assertThat(sc.run("sam").run().worst()).isEqualTo(Severity.CRITICAL);
        next[0] = Severity.INFO;
        clock.advance(Duration.ofSeconds(61));
        ConsoleSelfcheck.Run second = sc.run("audrey").run();
        assertThat(second.worst()).isEqualTo(Severity.INFO);
        assertThat(sc.last()).isSameAs(second);
    }

    @Test
    void runAgain_withinAMinuteOfTheLast_isAnsweredWithIt_withoutRunningTheChecks() {
        AtomicInteger built = new AtomicInteger();
        MutableClock clock = new MutableClock(CLOCK.instant());
        ConsoleSelfcheck sc = new ConsoleSelfcheck(clock, () -> {
            built.incrementAndGet();
            return List.of(blocking(new CountDownLatch(1), new CountDownLatch(0), Severity.WARNING));
        }, Duration.ofSeconds(60));
        ConsoleSelfcheck.Run first = sc.run("sam").run();
        assertThat(built).hasValue(1);

        clock.advance(Duration.ofSeconds(59));
        ConsoleSelfcheck.Outcome recent = sc.run("audrey");
        assertThat(recent.result()).isEqualTo("recent");
        assertThat(recent.run()).isSameAs(first);
        assertThat(recent.detail(clock.instant())).startsWith("answered with the run by sam that ended ").endsWith(" s ago");
        assertThat(built).as("the checks were not built again").hasValue(1);
        assertThat(sc.last()).isSameAs(first);

        // a minute after the last run ended, it runs again
        clock.advance(Duration.ofSeconds(2).plus(first.took()));
        ConsoleSelfcheck.Outcome again = sc.run("audrey");
        assertThat(again.result()).isEqualTo("done");
        assertThat(again.run().by()).isEqualTo("audrey");
        assertThat(built).hasValue(2);
    }

    @Test
    void negativeInterval_isRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ConsoleSelfcheck(CLOCK, List::of, Duration.ofSeconds(-1)))
                .hasMessage("minInterval: expected zero or more, found PT-1S");
    }
}
