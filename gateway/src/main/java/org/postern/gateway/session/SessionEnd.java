package org.postern.gateway.session;

import java.util.Locale;


/** Why a session ended, as {@code session.end} records it in {@code reason}. */
public enum SessionEnd {
    /** The device's connection closed (the laptop went away, or its last tunnel ended and took it along). */
    CLIENT_CLOSED(FlowEnd.CLIENT_CLOSED),
    /** The connection's last tunnel closed for want of traffic. */
    IDLE(FlowEnd.IDLE),
    /** The device's posture lease ended unrenewed. */
    LEASE_ENDED(FlowEnd.LEASE_ENDED),
    /** A renewal of the device's posture was not compliant. */
    NON_COMPLIANT(FlowEnd.NON_COMPLIANT),
    /** The device or its certificate was revoked. */
    REVOKED(FlowEnd.REVOKED),
    /** The device was suspended. */
    SUSPENDED(FlowEnd.SUSPENDED),
    /** An administrator ended it ({@link SessionDirectory#kill}). */
    KILLED(FlowEnd.KILLED),
    /** The gateway's revocation view went stale: every session on it ends (docs/gateway.md "Fail closed"). */
    REGISTRY_UNAVAILABLE(FlowEnd.REGISTRY_UNAVAILABLE),
    /** The gateway is shutting down. */
    GATEWAY_SHUTDOWN(FlowEnd.SHUTDOWN),
    /**
     * Remote-work hours ({@code access.endSessionsAtWindowEnd}): a window of hours that admitted a
     * flow of it ended and no rule of the owner's groups is open any more, so nothing it could ask
     * for would be admitted; or its connection's only tunnel was cut at its window's end (HTTP/1.1).
     * The connection stays (posture renewals go on over it); a tunnel asked for later starts a new
     * session if a rule is open by then.
     */
    OUTSIDE_HOURS(FlowEnd.OUTSIDE_HOURS);

    private final FlowEnd flows;

    SessionEnd(FlowEnd flows) {
        this.flows = flows;
    }

    /** The spelling in the audit trail: {@code client_closed}, {@code gateway_shutdown}, … */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** How the session's flows are closed when it ends this way. */
    public FlowEnd flowEnd() {
        return flows;
    }

    /** Whether the gateway ends the connection itself (the device cannot stay on it). */
    boolean closesConnection() {
        return this == REVOKED || this == SUSPENDED || this == KILLED || this == REGISTRY_UNAVAILABLE
                || this == GATEWAY_SHUTDOWN;
    }

    /**
     * The session end that {@code FlowRegistry.closeAll(device, how)} means, or null when closing a
     * device's flows that way does not end its sessions.
     */
    public static SessionEnd of(FlowEnd how) {
        return switch (how) {
            case LEASE_ENDED -> LEASE_ENDED;
            case NON_COMPLIANT -> NON_COMPLIANT;
            case REVOKED -> REVOKED;
            case SUSPENDED -> SUSPENDED;
            case KILLED -> KILLED;
            case REGISTRY_UNAVAILABLE -> REGISTRY_UNAVAILABLE;
            case SHUTDOWN -> GATEWAY_SHUTDOWN;
            case CLIENT_CLOSED, SERVER_CLOSED, IDLE, ERROR, OUTSIDE_HOURS -> null;
        };
    }
}
