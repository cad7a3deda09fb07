package org.postern.agent.tunnel;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warns the user before the gateway ends a tunnel at the end of its window of remote-work hours:
 * the gateway's 200 to a CONNECT admitted by a rule with hours names that end
 * ({@code postern-window-end}, an ISO-8601 instant), and {@link #LEAD} before it the agent logs one
 * warning line (at once when less is left). The warning is cancelled with the tunnel.
 */
final class WindowEndWarning {
    private static final Logger log = LoggerFactory.getLogger(WindowEndWarning.class);

    /** How long before the window's end the user is warned. */
    static final Duration LEAD = Duration.ofMinutes(10);

    private WindowEndWarning() {
    }

    /** Schedules the warning for {@code tunnel} on its event loop; a malformed header is ignored (logged). */
    static void schedule(Channel tunnel, String authority, String windowEnd) {
        Optional<Duration> delay = delay(windowEnd, Clock.systemUTC(), LEAD);
        if (delay.isEmpty()) {
            log.debug("tunnel to {}: ignoring a malformed postern-window-end \"{}\"", authority, CloseReasons.printable(windowEnd));
            return;
        }
        var warning = tunnel.eventLoop().schedule(() -> log.warn(message(authority, windowEnd)),
                delay.get().toMillis(), TimeUnit.MILLISECONDS);
        tunnel.closeFuture().addListener(f -> warning.cancel(false));
    }

    /** How long from now on {@code clock} until the warning: {@code lead} before {@code windowEnd}, never negative. */
    static Optional<Duration> delay(String windowEnd, Clock clock, Duration lead) {
        Instant end;
        try {
            end = Instant.parse(windowEnd.trim());
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
        Duration d = Duration.between(clock.instant(), end.minus(lead));
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
    }

    static String message(String authority, String windowEnd) {
        return "the tunnel to " + authority + " ends at " + CloseReasons.printable(windowEnd)
                + ": the hours of remote work set for it end then; save your work";
    }
}
