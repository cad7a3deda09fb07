package org.postern.agent.tunnel;

import java.io.IOException;

import org.jspecify.annotations.Nullable;

/**
 * A tunnel that was not opened: refused by the gateway (its status and {@code Postern-Reason}),
 * or by the agent itself when it has no session.
 */
public final class TunnelRefusedException extends IOException {
    /** Why there is no tunnel, in the terms a local client (SOCKS5) can be told. */
    public enum Kind {
        /** The agent has no connection or no lease: nothing was asked. */
        NO_SESSION,
        /** 403: the gateway's access policy or posture gate said no. */
        NOT_ALLOWED,
        /** 502 {@code connect.unresolved}: the gateway could not resolve the host. */
        HOST_UNREACHABLE,
        /** 502 {@code connect.failed}: the destination refused or did not answer. */
        CONNECTION_REFUSED,
        /** Anything else: another status, a reset stream, a dropped connection. */
        FAILED
    }

    private final Kind kind;
    private final int status;
    private final @Nullable String reason;

    public TunnelRefusedException(Kind kind, int status, @Nullable String reason, String message) {
        super(message, null);
        this.kind = kind;
        this.status = status;
        this.reason = reason;
    }

    /** A refusal from the gateway's answer: {@code status} and its {@code Postern-Reason} (may be null). */
    public static TunnelRefusedException fromGateway(String destination, int status, @Nullable String reason) {
        return fromGateway(destination, status, reason, null);
    }

    /**
     * {@link #fromGateway(String, int, String)} with the gateway's {@code Postern-Remedy} (what the
     * user can do, e.g. {@code access opens Monday 08:00 Africa/Casablanca}), shown after the reason.
     */
    public static TunnelRefusedException fromGateway(String destination, int status, @Nullable String reason,
                                                     @Nullable String remedy) {
        Kind kind = switch (status) {
            case 403 -> Kind.NOT_ALLOWED;
            case 502 -> "connect.unresolved".equals(reason) ? Kind.HOST_UNREACHABLE : Kind.CONNECTION_REFUSED;
            default -> Kind.FAILED;
        };
        return new TunnelRefusedException(kind, status, reason, "the gateway refused " + destination + ": "
                + status + (reason == null ? "" : " " + reason)
                + (remedy == null ? "" : "; " + CloseReasons.printable(remedy)));
    }

    public static TunnelRefusedException noSession(String destination, String why) {
        return new TunnelRefusedException(Kind.NO_SESSION, 0, null, "no tunnel to " + destination + ": " + why);
    }

    public Kind kind() {
        return kind;
    }

    /** The gateway's HTTP status, or 0 when the gateway was not asked. */
    public int status() {
        return status;
    }

    /** The gateway's reason code, or null. */
    public @Nullable String reason() {
        return reason;
    }
}
