package org.postern.agent.tunnel;

import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.netty.channel.Channel;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warns the user before the gateway ends a tunnel at the end of its window of remote-work hours:
 * the gateway's 200 to a CONNECT admitted by a rule with hours names that end
 * ({@code postern-window-end}, an ISO-8601 instant) and how long before it to warn
 * ({@code postern-window-warning}, whole seconds: the administration's
 * {@code access.warnBeforeWindowEnd}); that long before the end the agent logs one warning line (at
 * once when less is left; none when the lead is 0). The warning is cancelled with the tunnel.
 */
final class WindowEndWarning {
    private static final Logger log = LoggerFactory.getLogger(WindowEndWarning.class);

    /**
     * The lead when the gateway names none (a gateway older than {@code access.warnBeforeWindowEnd})
     * or a malformed one: the gateway's default.
     */
    static final Duration LEAD = Duration.ofMinutes(10);
    /** A lead the gateway may send is shorter than a day ({@code access.warnBeforeWindowEnd}'s bound). */
    private static final long MAX_LEAD_SECONDS = 24 * 3600 - 1;
    /** The farthest a window's end may lie ahead: a window never spans more than a day. */
    static final Duration MAX_AHEAD = Duration.ofDays(1);

    private WindowEndWarning() {
    }

    /** Schedules the warning for {@code tunnel} on its event loop; a malformed end is ignored (logged). */
    static void schedule(Channel tunnel, String authority, String windowEnd, @Nullable String leadSeconds) {
        schedule(tunnel, authority, windowEnd, leadSeconds, Clock.systemUTC(), log::warn);
    }

    /** {@link #schedule(Channel, String, String, String)} on {@code clock}, the warning given to {@code warn}. */
    static void schedule(Channel tunnel, String authority, String windowEnd, @Nullable String leadSeconds, Clock clock,
                         Consumer<String> warn) {
        Duration lead = lead(leadSeconds);
        if (lead.isZero()) {
            return; // the administration chose no warning
        }
        Optional<Duration> delay = delay(windowEnd, clock, lead);
        if (delay.isEmpty()) {
            log.debug("tunnel to {}: ignoring a malformed postern-window-end \"{}\"", authority, CloseReasons.printable(windowEnd));
            return;
        }
        var warning = tunnel.eventLoop().schedule(() -> warn.accept(message(authority, windowEnd)),
                delay.get().toMillis(), TimeUnit.MILLISECONDS);
        tunnel.closeFuture().addListener(f -> warning.cancel(false));
    }

    /**
     * The lead the gateway sent ({@code postern-window-warning}: whole seconds, 0 to 86399); {@link #LEAD}
     * when it sent none or something else (logged), so a user is still warned.
     */
    static Duration lead(@Nullable String seconds) {
        if (seconds == null) {
            return LEAD;
        }
        String s = seconds.trim();
        if (!s.isEmpty() && s.length() <= 5 && s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            long n = Long.parseLong(s);
            if (n <= MAX_LEAD_SECONDS) {
                return Duration.ofSeconds(n);
            }
        }
        log.debug("ignoring a malformed postern-window-warning \"{}\" (expected whole seconds 0 to {}); warning {} before",
                CloseReasons.printable(seconds), MAX_LEAD_SECONDS, LEAD);
        return LEAD;
    }

    /**
     * How long from now on {@code clock} until the warning: {@code lead} before {@code windowEnd}, never
     * negative; empty when the end is malformed. An end more than a day ahead (or behind: a clock a
     * little off still warns at once) is malformed too: no window is longer than a day, and a far one
     * ({@code +999999999-12-31T23:59:59Z}) must not overflow the scheduling of a tunnel the gateway
     * admitted.
     */
    static Optional<Duration> delay(String windowEnd, Clock clock, Duration lead) {
        try {
            Instant now = clock.instant();
            Instant end = Instant.parse(windowEnd.trim());
            if (end.isAfter(now.plus(MAX_AHEAD)) || end.isBefore(now.minus(MAX_AHEAD))) {
                return Optional.empty();
            }
            Duration d = Duration.between(now, end.minus(lead));
            return Optional.of(d.isNegative() ? Duration.ZERO : d);
        } catch (DateTimeException | ArithmeticException e) { // the parse, or an instant out of range
            return Optional.empty();
        }
    }

    static String message(String authority, String windowEnd) {
        return "the tunnel to " + authority + " ends at " + CloseReasons.printable(windowEnd)
                + ": the hours of remote work set for it end then; save your work";
    }
}
