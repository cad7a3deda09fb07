package org.postern.vpn.flow;

/** Why a flow left the table; {@link #auditName()} is the {@code how} of a {@code flow.close} event. */
public enum EndReason {
    /** No packet for longer than its protocol's idle timeout. */
    IDLE("idle"),
    /** TCP saw RST, or FIN both ways, and the short closing timeout passed. */
    TCP_CLOSED("tcp_closed"),
    /** A denial was remembered for its time; no flow.close (the flow never opened). */
    DENIAL_EXPIRED("denial_expired"),
    /** The VPN session ended ({@link FlowTable#closeAll}). */
    SESSION_END("session_end"),
    /**
     * The gate's permission ended while the flow lived ({@link FlowTable#withdraw}): the caller's
     * {@code flow.close} names why (the window of remote-work hours that admitted it closed).
     */
    WITHDRAWN("withdrawn");

    private final String auditName;

    EndReason(String auditName) {
        this.auditName = auditName;
    }

    public String auditName() {
        return auditName;
    }
}
