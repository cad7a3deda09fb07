package org.postern.gateway.vpn;

import java.util.Locale;

/**
 * Why the engine dropped a packet, as counted in the VPN session's {@code session.end} record
 * ({@code dropped}) and in the metrics. Packets dropped on purpose by a verdict (a denied flow) are
 * counted too, so the figures add up to what the device sent that never left.
 */
public enum VpnDrop {
    /** {@code IpPacket.parse} refused it (truncated, bad version, bad header checksum, …). */
    MALFORMED,
    /** A fragment, first or not: the VPN MTU is set so the laptop never needs to fragment. */
    FRAGMENT,
    /** An IPv4 header with options. */
    IPV4_OPTIONS,
    /** An HTTP datagram whose context id is not 0 (the only one CONNECT-IP registers here). */
    UNKNOWN_CONTEXT,
    /** The source is not the address the device was given ({@code vpn.spoofed}). */
    SPOOFED,
    /** To a multicast, broadcast or IPv6 link-local address: never routed through the gateway, not asked of the gate. */
    LOCAL_SCOPE,
    /** Longer than the tunnel MTU; answered with ICMP packet too big. */
    TOO_BIG,
    /** Its flow was refused by the gate (answered with ICMP administratively prohibited). */
    DENIED,
    /** A new flow beyond {@code vpn.maxFlowsPerSession}. */
    FLOW_LIMIT,
    /** Toward the device, but of no flow the gate allowed. */
    NO_FLOW,
    /** The link or the egress could not take it (closed, queue full, a write error). */
    UNDELIVERABLE;

    /** The spelling in the audit trail and metrics: {@code ipv4_options}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
