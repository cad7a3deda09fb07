package org.postern.gateway.vpn;

import java.util.function.Function;

import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;

/**
 * What the gateway checks in a CONNECT-IP request before anyone decides it, the same for HTTP/3
 * (RFC 9220) and HTTP/2 (RFC 8441): {@code :method CONNECT}, {@code :protocol connect-ip},
 * {@code :scheme https}, an {@code :authority}, a {@code :path} of the RFC 9484 template
 * {@code /.well-known/masque/ip/{target}/{ipproto}/}, and {@code capsule-protocol: ?1}.
 * Only {@code target} and {@code ipproto} {@code *} are served (no scoping yet): others get 501.
 */
final class ConnectIpRequestCheck {
    static final String PROTOCOL = "connect-ip";
    static final String PREFIX = "/.well-known/masque/ip/";

    /** The template's variables. */
    record Path(String target, String ipproto) {}

    /** A refusal of the request form: status and message for the peer (reason connect.malformed). */
    record Problem(int status, String message) {}

    /** The outcome: {@code path} when well-formed, else {@code problem}. */
    record Result(@Nullable Path path, @Nullable Problem problem) {}

    private ConnectIpRequestCheck() {}

    /** Checks the request headers that {@code header} reads (pseudo-headers by their names with the colon). */
    static Result check(Function<String, @Nullable CharSequence> header) {
        String method = text(header.apply(":method"));
        if (!"CONNECT".equals(method)) {
            return bad(400, "CONNECT-IP: expected :method CONNECT, found " + shown(method));
        }
        String protocol = text(header.apply(":protocol"));
        if (!PROTOCOL.equals(protocol)) {
            return bad(400, "CONNECT-IP: expected :protocol connect-ip (RFC 9484), found " + shown(protocol));
        }
        String scheme = text(header.apply(":scheme"));
        if (!"https".equals(scheme)) {
            return bad(400, "CONNECT-IP: expected :scheme https, found " + shown(scheme));
        }
        String authority = text(header.apply(":authority"));
        if (authority == null || authority.isEmpty()) {
            return bad(400, "CONNECT-IP: expected :authority, found none");
        }
        String path = text(header.apply(":path"));
        if (path == null || !path.startsWith(PREFIX) || !path.endsWith("/")) {
            return bad(400, "CONNECT-IP: expected :path " + PREFIX + "{target}/{ipproto}/ (RFC 9484 §4), found " + shown(path));
        }
        String[] vars = path.substring(PREFIX.length(), path.length() - 1).split("/", -1);
        if (vars.length != 2 || vars[0].isEmpty() || vars[1].isEmpty()) {
            return bad(400, "CONNECT-IP: expected :path " + PREFIX + "{target}/{ipproto}/ (RFC 9484 §4), found " + shown(path));
        }
        String capsules = text(header.apply("capsule-protocol"));
        if (!"?1".equals(capsules)) {
            return bad(400, "CONNECT-IP: expected header capsule-protocol: ?1 (RFC 9297 §3.4), found " + shown(capsules));
        }
        String target = star(vars[0]);
        String ipproto = star(vars[1]);
        if (!"*".equals(target) || !"*".equals(ipproto)) {
            return bad(501, "CONNECT-IP: only target * and ipproto * are served, found " + shown(path));
        }
        return new Result(new Path(target, ipproto), null);
    }

    private static String star(String v) {
        return "%2A".equalsIgnoreCase(v) ? "*" : v;
    }

    private static Result bad(int status, String message) {
        return new Result(null, new Problem(status, message));
    }

    private static @Nullable String text(@Nullable CharSequence s) {
        return s == null ? null : s.toString();
    }

    private static String shown(@Nullable String s) {
        return s == null ? "none" : '"' + AuditEvent.peerText(s) + '"';
    }
}
