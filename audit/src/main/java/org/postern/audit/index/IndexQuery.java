package org.postern.audit.index;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * What a search asks the index for. Every criterion given must hold; a null (or empty list) is
 * "any". The meanings are those of {@code postern audit search} (docs/audit.md):
 *
 * @param since              {@code time} ≥ since
 * @param until              {@code time} &lt; until
 * @param user               {@code user} equals
 * @param device             {@code device} equals
 * @param host               {@code dest} (as asked) or {@code destAddress} (as connected) is this value,
 *                           ignoring case: {@code db1.corp} matches any port of that host, {@code db1.corp:5432}
 *                           only that port (as {@code --dest}); kept lower-case
 * @param typePrefixes       {@code type} starts with one of these
 * @param reason             {@code reason} equals (the single {@code reason} field; a posture decision's
 *                           {@code reasons} list is not indexed)
 * @param session            {@code session} equals
 * @param includeCheckpoints whether {@code audit.checkpoint} records match (the CLI leaves them out too)
 */
public record IndexQuery(@Nullable Instant since, @Nullable Instant until, @Nullable String user, @Nullable String device,
                         @Nullable String host, List<String> typePrefixes, @Nullable String reason, @Nullable String session,
                         boolean includeCheckpoints) {

    public IndexQuery {
        typePrefixes = typePrefixes == null ? List.of() : List.copyOf(typePrefixes);
        for (String p : typePrefixes) {
            if (p.isEmpty()) {
                throw new IllegalArgumentException("type prefix: expected a non-empty prefix such as flow. or session.start, found an empty one");
            }
        }
        if (since != null && until != null && until.isBefore(since)) {
            throw new IllegalArgumentException("time range: expected until (" + until + ") not before since (" + since + ")");
        }
        user = blankToNull(user);
        device = blankToNull(device);
        host = blankToNull(host);
        if (host != null) {
            host = host.trim().toLowerCase(Locale.ROOT);
        }
        reason = blankToNull(reason);
        session = blankToNull(session);
    }

    /** Everything but checkpoints. */
    public static IndexQuery all() {
        return new IndexQuery(null, null, null, null, null, List.of(), null, null, false);
    }

    public IndexQuery withTime(@Nullable Instant since, @Nullable Instant until) {
        return new IndexQuery(since, until, user, device, host, typePrefixes, reason, session, includeCheckpoints);
    }

    public IndexQuery withUser(@Nullable String user) {
        return new IndexQuery(since, until, user, device, host, typePrefixes, reason, session, includeCheckpoints);
    }

    public IndexQuery withDevice(@Nullable String device) {
        return new IndexQuery(since, until, user, device, host, typePrefixes, reason, session, includeCheckpoints);
    }

    public IndexQuery withHost(@Nullable String host) {
        return new IndexQuery(since, until, user, device, host, typePrefixes, reason, session, includeCheckpoints);
    }

    public IndexQuery withTypes(String... prefixes) {
        return new IndexQuery(since, until, user, device, host, List.of(prefixes), reason, session, includeCheckpoints);
    }

    public IndexQuery withReason(@Nullable String reason) {
        return new IndexQuery(since, until, user, device, host, typePrefixes, reason, session, includeCheckpoints);
    }

    public IndexQuery withSession(@Nullable String session) {
        return new IndexQuery(since, until, user, device, host, typePrefixes, reason, session, includeCheckpoints);
    }

    public IndexQuery withCheckpoints(boolean include) {
        return new IndexQuery(since, until, user, device, host, typePrefixes, reason, session, include);
    }

    private static @Nullable String blankToNull(@Nullable String s) {
        return s == null || s.isBlank() ? null : s;
    }

    /** The host asked for, without a port ({@link #normalizeHost}), or null when none. */
    public @Nullable String hostName() {
        return host == null ? null : normalizeHost(host);
    }

    /** The port asked for with the host ({@code db1.corp:5432} → 5432), or -1 when none. */
    public int hostPort() {
        return host == null ? -1 : port(host);
    }

    /**
     * The port of a {@code dest}/{@code destAddress} value ({@code host:port}, {@code [v6]:port}), or -1
     * when it has none or it is not a number 0–65535 (such a value is compared as a host without port).
     */
    public static int port(String value) {
        String v = value.trim();
        String p;
        if (v.startsWith("[")) {
            int end = v.indexOf("]:");
            p = end > 0 ? v.substring(end + 2) : "";
        } else {
            int colon = v.indexOf(':');
            p = colon >= 0 && colon == v.lastIndexOf(':') ? v.substring(colon + 1) : "";
        }
        if (p.isEmpty() || p.length() > 5 || !p.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            return -1;
        }
        int n = Integer.parseInt(p);
        return n <= 65535 ? n : -1;
    }

    /**
     * The host part of a {@code dest}/{@code destAddress} value, lower-case, without its port:
     * {@code DB1.corp:5432} → {@code db1.corp}, {@code [2001:db8::1]:22} → {@code 2001:db8::1};
     * an IPv6 literal without brackets, or a value whose port is not a number 0–65535, is kept whole
     * (as the CLI's {@code Endpoint} reads it).
     */
    public static String normalizeHost(String value) {
        String v = value.trim();
        if (v.startsWith("[")) {
            int end = v.indexOf(']');
            v = end > 0 ? v.substring(1, end) : v.substring(1);
        } else if (port(v) >= 0) {
            v = v.substring(0, v.indexOf(':'));
        }
        return v.toLowerCase(Locale.ROOT);
    }
}
