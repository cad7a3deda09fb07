package org.postern.gateway.policy;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.postern.config.gateway.Network;

/**
 * Addresses a tunnel must not reach unless a rule names them by address: loopback, link-local
 * (cloud metadata 169.254.169.254 included), unspecified, multicast, broadcast, and the
 * gateway's own addresses as the host has them now ({@link OwnAddresses}). They are where a
 * gateway's own services and credentials live, so a rule written for the admin network
 * ({@code 0.0.0.0/0:443}) or a host name that resolves there must not open them.
 * IPv4-mapped IPv6 forms ({@code ::ffff:127.0.0.1}) are the IPv4 address. An IPv6 address that
 * carries an IPv4 address ({@link EmbeddedIpv4}: IPv4-compatible, NAT64, 6to4, Teredo) is
 * forbidden when the IPv4 it carries is; its range is then the IPv6 image of the IPv4 range
 * ({@code 64:ff9b::7f00:0/104} for loopback under NAT64), so only a rule naming the IPv6 form
 * inside that image opens it: a rule for {@code 127.0.0.1} does not open {@code [64:ff9b::7f00:1]}.
 */
public final class ForbiddenAddresses {

    /** One forbidden range and what it is, for messages. */
    public record Range(Network network, String kind) {
        public Range {
            Objects.requireNonNull(network, "network");
            Objects.requireNonNull(kind, "kind");
        }
    }

    private static final List<Range> FIXED = List.of(
            range("0.0.0.0/8", "unspecified"),          // 0.0.0.0 connects to this host on Linux
            range("127.0.0.0/8", "loopback"),
            range("169.254.0.0/16", "link-local"),
            range("169.254.169.254/32", "cloud metadata"),
            range("224.0.0.0/4", "multicast"),
            range("255.255.255.255/32", "broadcast"),
            range("::/128", "unspecified"),
            range("::1/128", "loopback"),
            range("fe80::/10", "link-local"),
            range("fd00:ec2::254/128", "cloud metadata"), // the IPv6 metadata endpoint of AWS
            range("ff00::/8", "multicast"));

    private final OwnAddresses own;

    /** @param ownAddresses the gateway's own addresses, fixed (tests, tools), refused like loopback */
    public ForbiddenAddresses(Set<InetAddress> ownAddresses) {
        this(OwnAddresses.fixed(ownAddresses));
    }

    /** @param own the gateway's own addresses as the host has them now, refused like loopback */
    public ForbiddenAddresses(OwnAddresses own) {
        this.own = Objects.requireNonNull(own, "own");
    }

    /** The gateway's own addresses this checks against. */
    public OwnAddresses ownAddresses() {
        return own;
    }

    /** The forbidden ranges {@code address} lies in; empty when it may be reached by any rule. */
    public List<Range> rangesOf(InetAddress address) {
        InetAddress a = Network.normalize(address);
        List<Range> out = new ArrayList<>(2);
        direct(a, out);
        for (EmbeddedIpv4.Reading r : EmbeddedIpv4.of(a)) {
            if (r.ipv4() == null) {
                out.add(new Range(Network.of(a), r.form()));
                continue;
            }
            List<Range> carried = new ArrayList<>(2);
            direct(r.ipv4(), carried);
            for (Range c : carried) {
                out.add(new Range(r.image(c.network()), c.kind() + " " + r.ipv4().getHostAddress()
                        + " carried as " + r.form()));
            }
        }
        return out;
    }

    /** The fixed ranges and the own addresses {@code a} itself is in (no embedded IPv4). */
    private void direct(InetAddress a, List<Range> out) {
        for (Range r : FIXED) {
            if (r.network().contains(a)) {
                out.add(r);
            }
        }
        if (own.contains(a)) {
            out.add(new Range(Network.of(a), "the gateway's own address"));
        }
    }

    /**
     * The fixed forbidden ranges (loopback, link-local, metadata, unspecified, multicast,
     * broadcast), without the gateway's own addresses ({@link #ownAddresses()}).
     */
    public static List<Range> fixedRanges() {
        return FIXED;
    }

    /** Whether {@code address} is forbidden unless a rule names it. */
    public boolean isForbidden(InetAddress address) {
        return !rangesOf(address).isEmpty();
    }

    /** Why {@code address} is forbidden, e.g. {@code "loopback"}, {@code "link-local, cloud metadata"}. */
    public static String describe(List<Range> ranges) {
        return String.join(", ", ranges.stream().map(Range::kind).distinct().toList());
    }

    private static Range range(String cidr, String kind) {
        return new Range(Network.parse(cidr), kind);
    }
}
