package org.postern.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.postern.config.agent.AgentSettings;

class ReconnectBackoffTest {
    private static final AgentSettings.Reconnect ONE_TO_SIXTY = new AgentSettings.Reconnect(Duration.ofSeconds(1),
            Duration.ofSeconds(60));

    @Test
    void afterAttempt_theNextGatewayAtOnce_andAWaitOnlyOnceEveryOneWasTried() {
        ReconnectBackoff b = new ReconnectBackoff(ONE_TO_SIXTY, new SplittableRandom(1));
        assertThat(b.afterAttempt(true, 2)).isZero();    // A lost after it worked: B at once
        assertThat(b.afterAttempt(false, 2)).isPositive(); // B unreachable too: wait
        assertThat(b.afterAttempt(false, 2)).isZero();   // A again failed: B at once
        assertThat(b.afterAttempt(false, 2)).isPositive();
    }

    @Test
    void afterAttempt_oneGateway_alwaysWaits_neverAHotLoop() {
        ReconnectBackoff b = new ReconnectBackoff(ONE_TO_SIXTY, new SplittableRandom(2));
        for (int i = 0; i < 50; i++) {
            assertThat(b.afterAttempt(i % 3 == 0, 1)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
        }
    }

    @RepeatedTest(20)
    void afterAttempt_waitsDoubleUpToTheMax_eachDrawnBetweenItsHalfAndItsWhole() {
        ReconnectBackoff b = new ReconnectBackoff(ONE_TO_SIXTY, new SplittableRandom());
        List<Duration> waits = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            waits.add(b.afterAttempt(false, 1));
        }
        long[] full = {1, 2, 4, 8, 16, 32, 60, 60, 60};
        for (int i = 0; i < full.length; i++) {
            assertThat(waits.get(i)).as("wait %d", i)
                    .isBetween(Duration.ofMillis(full[i] * 500), Duration.ofSeconds(full[i]));
        }
    }

    @Test
    void afterAttempt_aConnectionThatWorked_bringsTheWaitBackToTheMinimum() {
        ReconnectBackoff b = new ReconnectBackoff(ONE_TO_SIXTY, new SplittableRandom(3));
        for (int i = 0; i < 6; i++) {
            b.afterAttempt(false, 1);
        }
        assertThat(b.afterAttempt(true, 1)).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
    }

    @Test
    void afterAttempt_theWaitsAreSpread_notInStep() {
        ReconnectBackoff b = new ReconnectBackoff(new AgentSettings.Reconnect(Duration.ofSeconds(8), Duration.ofSeconds(8)),
                new SplittableRandom(4));
        java.util.Set<Duration> seen = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
            seen.add(b.afterAttempt(false, 1));
        }
        assertThat(seen).hasSizeGreaterThan(10);
    }

    @Test
    void afterRefusal_waitsEveryTime_andDoubles() {
        ReconnectBackoff b = new ReconnectBackoff(ONE_TO_SIXTY, new SplittableRandom(5));
        assertThat(b.afterRefusal()).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
        assertThat(b.afterRefusal()).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2));
    }
}
