package org.postern.config.gateway;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * An IP protocol an access rule may grant ({@code protocols:} of a rule). CONNECT and the SSH
 * bastion only ever ask for {@link #TCP}; VPN flows ask for the protocol of their packets.
 * {@link #ICMP} means echo requests (ping) to the rule's hosts, ICMPv4 or ICMPv6; the rule's
 * ports do not apply to it.
 */
public enum Protocol {
    TCP, UDP, ICMP;

    /** What a valid value looks like, for the "expected" half of a problem. */
    public static final String EXPECTED = "one of " + Arrays.stream(values()).map(Protocol::spelling)
            .collect(Collectors.joining(", "));

    /** How it is written in gateway.yaml and in the audit trail: {@code tcp}, {@code udp}, {@code icmp}. */
    public String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether a rule's ports restrict this protocol (not for ICMP). */
    public boolean hasPorts() {
        return this != ICMP;
    }

    /** The protocol written {@code text}, or empty. */
    public static Optional<Protocol> parse(String text) {
        return Arrays.stream(values()).filter(p -> p.spelling().equals(text)).findFirst();
    }

    /**
     * The protocol of IP protocol number {@code ipProtocol} (IPv4 protocol, IPv6 next header):
     * 6 TCP, 17 UDP, 1 ICMP and 58 ICMPv6 (both {@link #ICMP}); empty for any other.
     */
    public static Optional<Protocol> ofIpProtocol(int ipProtocol) {
        return switch (ipProtocol) {
            case 6 -> Optional.of(TCP);
            case 17 -> Optional.of(UDP);
            case 1, 58 -> Optional.of(ICMP);
            default -> Optional.empty();
        };
    }
}
