package org.postern.vpn.flow;

/** Where a flow stands with the admission gate. */
public enum FlowState {
    /** The gate is deciding; the flow's packets wait in a small queue. */
    PENDING,
    /** The gate allowed it: packets pass both ways. */
    ALLOWED,
    /** The gate denied it: packets are dropped (and answered with ICMP) until the denial expires. */
    DENIED
}
