package org.postern.gateway.relay;

import java.time.Duration;
import java.util.Objects;

/**
 * Timings of the CONNECT relay.
 *
 * @param connectTimeout how long connecting to the admin host may take before {@code 502 connect.failed}
 * @param idleTimeout    a flow with no bytes either way for this long is closed ({@code how: idle})
 * @param closeGrace     after one side closed, how long the other may take to flush what it was
 *                       already given before it is cut
 */
public record RelaySettings(Duration connectTimeout, Duration idleTimeout, Duration closeGrace) {

    /** Connect within 10 s, idle after 15 min, 2 s to flush on close. */
    public static final RelaySettings DEFAULTS =
            new RelaySettings(Duration.ofSeconds(10), Duration.ofMinutes(15), Duration.ofSeconds(2));

    public RelaySettings {
        positive(connectTimeout, "relay.connectTimeout");
        positive(idleTimeout, "relay.idleTimeout");
        positive(closeGrace, "relay.closeGrace");
    }

    private static void positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero() || d.toMillis() == 0) {
            throw new IllegalArgumentException(name + ": expected a positive duration of at least 1ms, found " + d);
        }
    }
}
