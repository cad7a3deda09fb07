package org.postern.agent.session;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

import org.postern.config.agent.AgentSettings;

/**
 * How long {@code up} waits before its next connection attempt (docs/agent.md "Failover"). After a
 * failed attempt or a lost connection the next gateway is tried at once, until every candidate of
 * the round was tried since the last wait or the last connection that worked; then it waits:
 * {@code reconnect.minBackoff}, doubling after each such round up to {@code reconnect.maxBackoff},
 * back to the minimum once a posture decision came on a connection. So there are at most as many
 * attempts per wait as there are candidates: never a hot loop.
 *
 * <p>Each wait is drawn at random between half of it and all of it, so laptops that lost the same
 * gateway at the same moment do not come back in step.
 */
final class ReconnectBackoff {
    private final AgentSettings.Reconnect settings;
    private final RandomGenerator random;
    private int attempts;
    private int rounds;

    ReconnectBackoff(AgentSettings.Reconnect settings, RandomGenerator random) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.random = Objects.requireNonNull(random, "random");
    }

    /**
     * An attempt ended (it failed, or its connection was lost).
     *
     * @param worked     whether a posture decision came on its connection
     * @param candidates how many candidates the round has
     * @return the wait before the next attempt: zero while some candidate has not been tried
     */
    Duration afterAttempt(boolean worked, int candidates) {
        if (worked) {
            attempts = 0;
            rounds = 0;
        }
        attempts++;
        if (attempts < candidates) {
            return Duration.ZERO;
        }
        attempts = 0;
        return jittered(settings.backoff(rounds++));
    }

    /** A wait after the gateway refused this laptop (the same gateway is asked again, no failover). */
    Duration afterRefusal() {
        attempts = 0;
        return jittered(settings.backoff(rounds++));
    }

    private Duration jittered(Duration d) {
        long half = d.toMillis() / 2;
        return Duration.ofMillis(half + random.nextLong(d.toMillis() - half + 1));
    }
}
