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
 * gateway's own addresses. They are where a gateway's own services and credentials live, so a
 * rule written for the admin network ({@code 0.0.0.0/0:443}) or a host name that resolves there
 * must not open them. IPv4-mapped IPv6 forms ({@code ::ffff:127.0.0.1}) are the IPv4 address.
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

    private final List<Range> ranges;

    /** @param ownAddresses the gateway's own addresses, refused like loopback */
    public ForbiddenAddresses(Set<InetAddress> ownAddresses) {
        List<Range> all = new ArrayList<>(FIXED);
        for (InetAddress a : Objects.requireNonNull(ownAddresses, "ownAddresses")) {
            all.add(new Range(Network.of(a), "the gateway's own address"));
        }
        this.ranges = List.copyOf(all);
    }

    /** The forbidden ranges {@code address} lies in; empty when it may be reached by any rule. */
    public List<Range> rangesOf(InetAddress address) {
        InetAddress a = Network.normalize(address);
        List<Range> out = new ArrayList<>(2);
        for (Range r : ranges) {
            if (r.network().contains(a)) {
                out.add(r);
            }
        }
        return out;
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
