package org.postern.vpn.packet;

/** Why {@link IpPacket#parse} refused a packet. The caller drops it and counts the reason. */
public enum Malformed {
    /** The bytes end before a header or before the length the header declares. */
    TRUNCATED,
    /** The version nibble is neither 4 nor 6. */
    BAD_VERSION,
    /** An IPv4 IHL below 5 (a header shorter than 20 bytes). */
    BAD_HEADER_LENGTH,
    /** An IPv4 total length shorter than its own header. */
    BAD_TOTAL_LENGTH,
    /** The IPv4 header checksum does not verify. */
    BAD_HEADER_CHECKSUM,
    /** More IPv6 extension headers than a real packet carries (a parser-exhaustion attempt). */
    EXTENSION_CHAIN_TOO_LONG
}
