package org.postern.gateway.session;

import java.util.Locale;

/** How a flow ended, as {@code flow.close} records it in {@code how}. */
public enum FlowEnd {
    /** The laptop closed its side (both directions finished, or it went away). */
    CLIENT_CLOSED,
    /** The admin host closed its side. */
    SERVER_CLOSED,
    /** No bytes either way for the idle timeout. */
    IDLE,
    /** A socket error, or a write that failed. */
    ERROR,
    /** The device's posture lease ended unrenewed. */
    LEASE_ENDED,
    /** A renewal of the device's posture was not compliant. */
    NON_COMPLIANT,
    /** The device or its certificate was revoked. */
    REVOKED,
    /** The device was suspended (its certificate on hold). */
    SUSPENDED,
    /** An administrator ended the session ({@code postern gateway kill}). */
    KILLED,
    /**
     * The gateway could not read the registry for {@code registry.maxStale}: it cannot know who was
     * revoked meanwhile, so everything on it ends (fail closed) until it can read it again.
     */
    REGISTRY_UNAVAILABLE,
    /** The gateway is shutting down. */
    SHUTDOWN,
    /**
     * The window of the rule's hours that admitted the flow closed ({@code access.endSessionsAtWindowEnd}).
     * The session stays: other flows, allowed by rules that are still open, go on.
     */
    OUTSIDE_HOURS;

    /** The spelling in the audit trail: {@code client_closed}, {@code lease_ended}, … */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the flow is cut at once rather than after the bytes already accepted are flushed. */
    public boolean abrupt() {
        return this != CLIENT_CLOSED && this != SERVER_CLOSED;
    }
}
