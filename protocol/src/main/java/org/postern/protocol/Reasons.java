package org.postern.protocol;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The one catalogue of refusal reason codes that the gateway sends in {@code Postern-Reason},
 * SSH channel refusals and {@code access.denied} / {@code pki.issue.denied} records, and that the
 * agent reads back. Each code is a stable string ({@link #code()}) that never changes meaning;
 * {@link #message()} is the terse text a peer gets, {@link #description()} says when it is used.
 * The codes a posture <em>decision</em> carries ({@code disk.not_encrypted}, …) are the other half
 * of the catalogue, {@link org.postern.protocol.posture.Reason}; {@link #isKnown} answers for both.
 */
public enum Reasons {
    CLIENT_CERT_REQUIRED("tls.client_cert_required", "client certificate required",
            "the TLS connection carries no device certificate"),
    DEVICE_NOT_ACTIVE("device.not_active", "device not active",
            "the device is unknown to the registry, or suspended, or revoked"),
    NO_LEASE("posture.no_lease", "no live posture lease",
            "the device has no live lease: never judged, expired unrenewed, or judged non-compliant under enforcement"),
    NO_RULE("access.no_rule", "access denied", "no access rule lets the device owner's groups reach the destination"),
    FORBIDDEN_ADDRESS("access.forbidden_address", "access denied",
            "the destination is loopback, link-local, metadata, unspecified, multicast or the gateway's own"),
    OUTSIDE_HOURS("access.outside_hours", "outside the hours of remote work",
            "every access rule that would let the device owner's groups reach the destination is outside its"
                    + " hours (access.rules[].hours, except) at this moment"),
    CHARTER_NOT_ACCEPTED("charter.not_accepted", "remote-work charter not accepted",
            "a remote-work charter is configured (charter.version) and the device, for its current owner, has not"
                    + " accepted that version with its current text (same SHA-256), or a later version"),
    CHARTER_NONE("charter.none", "no remote-work charter", "the gateway has no remote-work charter configured (charter: absent)"),
    CHARTER_MISMATCH("charter.mismatch", "not the current charter",
            "an acceptance that names another version or text than the charter in force (reloaded meanwhile),"
                    + " or whose device changed owner while it was recorded"),
    BAD_DESTINATION("access.bad_destination", "bad destination",
            "the destination itself is malformed: no host, a bad host name, a port outside 1..65535"),
    UNRESOLVED("connect.unresolved", "destination does not resolve", "the destination's name does not resolve"),
    CONNECT_FAILED("connect.failed", "cannot connect to destination", "the gateway could not connect to the destination"),
    MALFORMED("connect.malformed", "malformed CONNECT",
            "an HTTP/2 CONNECT that breaks RFC 9113 section 8.5 (a :path or :scheme, no :authority), "
                    + "or an HTTP/1.1 CONNECT with content (Transfer-Encoding, or a Content-Length other than 0)"),
    FLOWS_PER_DEVICE("limits.flows_per_device", "too many tunnels",
            "the device already has limits.flowsPerDevice tunnels open or opening"),
    SESSION_ENDED("session.ended", "session ended", "the session kept ending while the tunnel was admitted"),
    VPN_POOL_EXHAUSTED("vpn.pool_exhausted", "no VPN address free",
            "every address of vpn.pool is held by a device with a live VPN session"),
    REGISTRY_UNAVAILABLE("registry.unavailable", "registry unavailable", "the device registry could not be read (fail closed)"),
    AUDIT_UNAVAILABLE("audit.unavailable", "audit trail unavailable", "the audit trail could not record the event (fail closed)"),
    INTERNAL_ERROR("internal.error", "internal error", "an unexpected error in the gateway"),
    SSH_CERT_REQUIRED("ssh.cert_required", "Permission denied", "a plain SSH key, not a Postern user certificate"),
    SSH_CERT_UNKNOWN_CA("ssh.cert_unknown_ca", "Permission denied", "an SSH certificate from another CA"),
    SSH_CERT_EXPIRED("ssh.cert_expired", "Permission denied", "an SSH certificate outside its validity"),
    SSH_CERT_INVALID("ssh.cert_invalid", "Permission denied", "an SSH certificate that is malformed or does not verify"),
    SSH_PRINCIPAL_MISMATCH("ssh.principal_mismatch", "Permission denied",
            "the login is not the certificate's principal, or not the device's owner"),
    SSH_BAD_PUBLIC_KEY("ssh.bad_public_key", "bad public key", "not one OpenSSH key line, or a weak key"),
    SSH_FORWARDING_REFUSED("ssh.forwarding_refused", "forwarding refused",
            "agent, X11 or remote forwarding, or a connect no gate approved"),
    SSH_SESSION_REFUSED("ssh.session_refused", "administratively prohibited",
            "a shell, exec or subsystem on the bastion, which only forwards"),
    SSH_METHOD_REFUSED("ssh.method_refused", "Permission denied", "password or keyboard-interactive authentication"),
    SSH_NOT_AUTHENTICATED("ssh.not_authenticated", "Permission denied",
            "a connection that closed without authenticating and without another refusal"),
    SSH_TOO_MANY_CONNECTIONS("ssh.too_many_connections", "too many connections",
            "more than limits.connectionsPerSource connections from one source address to the bastion"),
    CERT_REVOKED("cert.revoked", "certificate revoked", "the connection's certificate was revoked or put on hold since the handshake"),
    LIMITS_CONNECTIONS_PER_SOURCE("limits.connections_per_source", "too many connections",
            "more than limits.connectionsPerSource connections from one source address"),
    LIMITS_HEADER_SIZE("limits.header_size", "request header too large", "a request head larger than limits.headerSize"),
    LIMITS_REQUEST_LINE("limits.request_line", "request line too long", "a request line longer than the decoder allows"),
    LIMITS_HEADER_TIME("limits.header_time", "request head too slow", "a request head not complete within limits.headerTime"),
    HTTP_BAD_REQUEST("http.bad_request", "bad request", "a request the HTTP decoder could not read"),
    HTTP_TOO_LARGE("http.too_large", "request body too large", "a request body larger than the aggregator holds"),
    HTTP_METHOD_NOT_ALLOWED("http.method_not_allowed", "method not allowed", "a method the endpoint does not take"),
    HTTP_UNSUPPORTED_MEDIA_TYPE("http.unsupported_media_type", "unsupported media type",
            "a body of a type the endpoint does not read"),
    SESSION_UNKNOWN("session.unknown", "no such session", "an admin request names a session the gateway does not have"),
    PROXY_UNTRUSTED("proxy.untrusted", "connection refused",
            "a PROXY protocol header from an address outside proxyProtocol.<listener>.trustedProxies"),
    PROXY_REQUIRED("proxy.required", "connection refused",
            "a connection from a trusted proxy that did not start with a PROXY protocol v2 header (none, or v1)"),
    PROXY_INVALID("proxy.invalid", "connection refused",
            "a PROXY protocol v2 header that is malformed, too large, or names no TCP client address"),
    PROXY_HEADER_TIME("proxy.header_time", "connection refused",
            "a trusted proxy's connection without a whole PROXY header within proxyProtocol.headerTime");

    private static final Map<String, Reasons> BY_CODE =
            Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(Reasons::code, Function.identity()));

    private final String code;
    private final String message;
    private final String description;

    Reasons(String code, String message, String description) {
        this.code = code;
        this.message = message;
        this.description = description;
    }

    /** The stable code, e.g. {@code posture.no_lease}. */
    public String code() {
        return code;
    }

    /** The terse text for the peer; the detail goes to the audit trail, never here. */
    public String message() {
        return message;
    }

    /** When the code is used. */
    public String description() {
        return description;
    }

    public static Optional<Reasons> fromCode(String code) {
        return Optional.ofNullable(BY_CODE.get(code));
    }

    /** Whether {@code code} is in the catalogue: a refusal here or a posture reason. */
    public static boolean isKnown(String code) {
        return BY_CODE.containsKey(code) || org.postern.protocol.posture.Reason.fromCode(code).isPresent();
    }

    @Override
    public String toString() {
        return code;
    }
}
