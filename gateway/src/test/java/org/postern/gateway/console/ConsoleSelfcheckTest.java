package org.postern.gateway.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.postern.gateway.selfcheck.Check;
import org.postern.gateway.selfcheck.Finding;
import org.postern.gateway.selfcheck.Severity;

/** The console's selfcheck runs: one at a time, the last kept with its time and who ran it. */
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

    @Test
    void secondRun_whileOneRuns_isRefused_andTheFirstIsKept() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ConsoleSelfcheck sc = new ConsoleSelfcheck(CLOCK, () -> List.of(blocking(started, release, Severity.WARNING)));
        assertThat(sc.last()).isNull();

        CompletableFuture<ConsoleSelfcheck.Run> first = CompletableFuture.supplyAsync(() -> sc.run("sam"));
        assertThat(started.await(10, TimeUnit.SECONDS)).as("the first run started").isTrue();
        assertThat(sc.run("audrey")).as("a second run while the first runs").isNull();
        assertThat(sc.last()).isNull();
        release.countDown();

        ConsoleSelfcheck.Run run = first.get(10, TimeUnit.SECONDS);
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
        ConsoleSelfcheck sc = new ConsoleSelfcheck(CLOCK, () -> List.of(blocking(new CountDownLatch(1), open, next[0])));
        assertThat(sc.run("sam").worst()).isEqualTo(Severity.CRITICAL);
        next[0] = Severity.INFO;
        ConsoleSelfcheck.Run second = sc.run("audrey");
        assertThat(second.worst()).isEqualTo(Severity.INFO);
        assertThat(sc.last()).isSameAs(second);
    }
}
