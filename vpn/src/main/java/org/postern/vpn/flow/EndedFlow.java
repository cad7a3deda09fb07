package org.postern.vpn.flow;

/** A flow that left the table and why; the caller audits it ({@code flow.close}) unless it was never allowed. */
public record EndedFlow(Flow flow, EndReason reason) {
}
