package org.postern.vpn.link;

/**
 * The MTU of the tunnel interface, derived from how large a UDP payload the path to the gateway
 * carries: an inner packet travels in one QUIC DATAGRAM frame (RFC 9221) as an HTTP datagram
 * (RFC 9297) of the CONNECT-IP stream (RFC 9484), so it is what is left of the QUIC packet after
 * <ul>
 *   <li>the QUIC short header: 1 flags byte, a connection ID of up to 20 bytes, a packet number
 *       of up to 4 bytes (25);</li>
 *   <li>the AEAD tag of the packet protection (16);</li>
 *   <li>the DATAGRAM frame's type and 2-byte length varint (3);</li>
 *   <li>the quarter stream ID varint, assumed up to 4 bytes (streams below 2^32) (4);</li>
 *   <li>the context ID varint, 0 for IP packets (1).</li>
 * </ul>
 * 49 bytes in all. IPv6 needs a link MTU of at least 1280 (RFC 8200): below that the tunnel
 * carries IPv4 only and {@link #explanation()} says so. The agent derives the figure once per
 * link, from the QUIC payload both ends use; it is not derived again when the path shrinks.
 *
 * @param mtu the inner MTU to set on the tunnel interface
 * @param ipv6 whether IPv6 may be configured on the link
 * @param explanation how the figure was reached, for the log
 */
public record TunMtu(int mtu, boolean ipv6, String explanation) {

    /** Bytes a QUIC packet adds around one inner IP packet, as the class comment counts them. */
    public static final int QUIC_DATAGRAM_OVERHEAD = 25 + 16 + 3 + 4 + 1;
    /** IPv6's minimum link MTU (RFC 8200 section 5). */
    public static final int IPV6_MINIMUM = 1280;
    /** IPv4's minimum link MTU (RFC 791): a path that small cannot carry the tunnel. */
    public static final int IPV4_MINIMUM = 68;

    /**
     * The inner MTU for a path whose largest UDP payload is {@code udpPayloadSize} bytes (QUIC's
     * max_udp_payload_size after path MTU discovery; 1472 on a 1500-byte IPv4 path, 1452 on IPv6).
     *
     * @throws IllegalArgumentException when not even an IPv4 minimum-size packet would fit
     */
    public static TunMtu fromUdpPayload(int udpPayloadSize) {
        int mtu = udpPayloadSize - QUIC_DATAGRAM_OVERHEAD;
        if (mtu < IPV4_MINIMUM) {
            throw new IllegalArgumentException("path UDP payload: expected at least " + (IPV4_MINIMUM + QUIC_DATAGRAM_OVERHEAD)
                    + " bytes to carry a " + IPV4_MINIMUM + "-byte IPv4 packet after " + QUIC_DATAGRAM_OVERHEAD
                    + " bytes of QUIC overhead, found " + udpPayloadSize);
        }
        String base = "tunnel MTU " + mtu + " = path UDP payload " + udpPayloadSize + " - " + QUIC_DATAGRAM_OVERHEAD
                + " bytes of QUIC short header, AEAD tag, DATAGRAM frame, quarter stream ID and context ID";
        if (mtu < IPV6_MINIMUM) {
            return new TunMtu(mtu, false, base + "; below IPv6's minimum of " + IPV6_MINIMUM
                    + ", so IPv6 is disabled on the tunnel (IPv4 only)");
        }
        return new TunMtu(mtu, true, base);
    }
}
