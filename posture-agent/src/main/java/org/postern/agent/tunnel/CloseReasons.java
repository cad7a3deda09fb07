package org.postern.agent.tunnel;

import java.util.Map;

import io.netty.util.AttributeKey;
import org.jspecify.annotations.Nullable;

/**
 * Why the gateway ended a tunnel or the whole connection, as it says it (docs/gateway.md "Close
 * reasons"): a CONNECT stream it ends ends with a trailing HEADERS frame carrying
 * {@value #HEADER}, and a connection it closes because the device lost its access ends with a
 * GOAWAY whose debug data is {@code postern-close: <reason>}. The reasons are the gateway's
 * {@code flow.close} {@code how} values.
 */
public final class CloseReasons {
    /** The trailer field (HTTP/2 field names are lower case). */
    public static final String HEADER = "postern-close";
    /** The GOAWAY debug data's prefix. */
    public static final String GOAWAY_PREFIX = HEADER + ": ";

    /** On the connection: why the gateway closed it, when its GOAWAY said. */
    public static final AttributeKey<String> CONNECTION = AttributeKey.valueOf("postern.closeReason");

    private static final Map<String, String> PLAIN = Map.ofEntries(
            Map.entry("client_closed", "closed from this side"),
            Map.entry("server_closed", "the destination closed the connection"),
            Map.entry("idle", "no traffic for the gateway's idle timeout"),
            Map.entry("error", "a network error at the gateway"),
            Map.entry("lease_ended", "the posture lease ended without renewal"),
            Map.entry("non_compliant", "posture was judged not compliant"),
            Map.entry("revoked", "this laptop's certificate was revoked"),
            Map.entry("suspended", "this laptop was suspended"),
            Map.entry("killed", "an administrator ended the session"),
            Map.entry("shutdown", "the gateway is shutting down"),
            Map.entry("registry_unavailable", "the gateway cannot read its device registry"),
            Map.entry("outside_hours", "the hours of remote work set for this access ended"),
            Map.entry("reset", "the gateway reset the tunnel without a reason"),
            Map.entry("connection_lost", "the connection to the gateway was lost"));

    private CloseReasons() {
    }

    /** {@code killed (an administrator ended the session)}; an unknown reason as it came, made printable. */
    public static String describe(String reason) {
        String plain = PLAIN.get(reason);
        return plain == null ? printable(reason) : reason + " (" + plain + ")";
    }

    /** The reason in a GOAWAY's debug data, or null when it carries none. */
    public static @Nullable String fromGoAway(String debugData) {
        return debugData.startsWith(GOAWAY_PREFIX) ? printable(debugData.substring(GOAWAY_PREFIX.length()).strip()) : null;
    }

    /** Peer text is shown to the user: at most 64 characters, nothing but printable ASCII. */
    public static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 64; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
