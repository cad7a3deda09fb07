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
    /**
     * A fragment not reassembled: an invalid one (a first fragment too short for its ports, a
     * non-last one not a multiple of 8 bytes, an empty one), or the exact duplicate of one held.
     */
    FRAGMENT,
    /** The fragments of a datagram that overlap, or disagree on its end (RFC 5722, RFC 1858): all of them. */
    FRAGMENT_OVERLAP,
    /** The fragments of a datagram not complete within 5 s, or still incomplete when the session ended. */
    FRAGMENT_TIMEOUT,
    /** Fragments beyond the reassembly bounds: 64 datagrams in progress, 256 KiB held, 65535 bytes a datagram. */
    FRAGMENT_LIMIT,
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
