package org.postern.agent.tunnel;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A tunnel that ended: where it went, what it carried, how long it lasted, and why it ended — the
 * gateway's reason when it gave one ({@link CloseReasons}), else what the agent saw.
 *
 * @param reason a {@code flow.close} reason of the gateway ({@code killed}, {@code lease_ended}, …),
 *               {@code client_closed} / {@code server_closed} for an orderly end, {@code reset} for a
 *               stream reset without a reason, {@code connection_lost} when the connection went
 */
public record TunnelClose(String via, String destination, long bytesUp, long bytesDown, Duration duration, String reason,
                          Instant at) {

    /** One line for the user: {@code tunnel to db1:22 closed after 12 s (340 B up, 1.2 kB down): killed (…)}. */
    public String describe() {
        return "tunnel to " + destination + " closed after " + duration.toSeconds() + " s (" + bytesUp + " B up, " + bytesDown
                + " B down; " + via + "): " + CloseReasons.describe(reason);
    }

    /** As {@code session.json}'s {@code recentCloses} and {@code status --json} show it. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("at", at.toString());
        m.put("destination", destination);
        m.put("via", via);
        m.put("bytesUp", bytesUp);
        m.put("bytesDown", bytesDown);
        m.put("seconds", duration.toSeconds());
        m.put("reason", reason);
        m.put("reasonText", CloseReasons.describe(reason));
        return m;
    }
}
