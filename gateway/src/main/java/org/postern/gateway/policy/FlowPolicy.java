package org.postern.gateway.policy;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.Network;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access rules as VPN flows see them: by address only. A VPN packet names an address, never a
 * host name, so each host-name entry of the rules is resolved once, when this is built, and
 * stands for the addresses it resolved to then (those that are not forbidden: a name never opens
 * a forbidden address, as for CONNECT). A name that does not resolve stands for nothing, logged.
 * A reload builds a new one; a DNS change between reloads is not followed.
 *
 * <p>{@link #policy()} decides each flow ({@link org.postern.gateway.gate.TunnelGate#openFlow});
 * {@link #routes(Set)} lists what a device's groups may reach, for the route advertisement of a
 * split tunnel. Both come from the same resolved rules, so a device is never sent a route whose
 * flows the gate then refuses for want of a rule.
 */
public final class FlowPolicy {
    private static final Logger log = LoggerFactory.getLogger(FlowPolicy.class);

    /** IPv4-mapped IPv6: the IPv4 address itself, never a route of its own. */
    private static final AddressRange MAPPED = new AddressRange(
            AddressRange.address(new BigInteger("ffff00000000", 16), 16),
            AddressRange.address(new BigInteger("ffffffffffff", 16), 16));

    private final List<Rule> rules;
    private final ForbiddenAddresses forbidden;
    private final List<Network> devicePools;
    private final AccessPolicy policy;

    private FlowPolicy(AccessRules rules, ForbiddenAddresses forbidden, List<Network> devicePools, String version,
                       java.time.Clock clock) {
        this.rules = rules.rules();
        this.forbidden = forbidden;
        this.devicePools = devicePools;
        // named by the rules as configured, not as resolved: a flow.open names the same access policy as a CONNECT
        this.policy = AccessPolicy.of(rules, forbidden, version, clock);
    }

    /**
     * Resolves the host-name entries of {@code rules} with {@code lookup} (blocking: call on a worker).
     * Its policy's version is that of {@code rules} at generation 1 ({@link AccessPolicyVersion}).
     *
     * @param devicePools the VPN pools, never a destination and never a route
     */
    public static FlowPolicy build(AccessRules rules, ForbiddenAddresses forbidden, List<Network> devicePools,
                                   DestinationResolver.Lookup lookup) {
        return build(rules, forbidden, devicePools, lookup, AccessPolicyVersion.of(rules, 1));
    }

    /**
     * {@link #build(AccessRules, ForbiddenAddresses, List, DestinationResolver.Lookup)} whose policy is
     * named {@code version} (the version of {@code rules} in force: {@code LiveSettings}).
     */
    public static FlowPolicy build(AccessRules rules, ForbiddenAddresses forbidden, List<Network> devicePools,
                                   DestinationResolver.Lookup lookup, String version) {
        return build(rules, forbidden, devicePools, lookup, version, java.time.Clock.systemUTC());
    }

    /** {@link #build(AccessRules, ForbiddenAddresses, List, DestinationResolver.Lookup, String)} whose rules' hours read {@code clock}. */
    public static FlowPolicy build(AccessRules rules, ForbiddenAddresses forbidden, List<Network> devicePools,
                                   DestinationResolver.Lookup lookup, String version, java.time.Clock clock) {
        Objects.requireNonNull(forbidden, "forbidden");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(lookup, "lookup");
        List<Rule> resolved = new ArrayList<>();
        for (Rule rule : rules.rules()) {
            List<Destination> to = new ArrayList<>();
            for (Destination d : rule.to()) {
                switch (d.target()) {
                    case Destination.Net net -> to.add(d);
                    case Destination.HostName name -> {
                        for (InetAddress a : resolve(lookup, rule.name(), name.name())) {
                            if (!forbidden.isForbidden(a)) {
                                to.add(new Destination(new Destination.Net(Network.of(a)), d.lowPort(), d.highPort()));
                            }
                        }
                    }
                }
            }
            if (!to.isEmpty()) {
                resolved.add(rule.withTo(to));
            }
        }
        return new FlowPolicy(rules.withRules(resolved), forbidden, List.copyOf(devicePools), version, clock);
    }

    private static List<InetAddress> resolve(DestinationResolver.Lookup lookup, String rule, String name) {
        try {
            List<InetAddress> all = lookup.lookup(name);
            return all == null ? List.of() : all.stream().map(Network::normalize).distinct().toList();
        } catch (UnknownHostException e) {
            log.warn("access rule {}: {} does not resolve; VPN flows and routes leave it out until the next reload",
                    rule, name);
            return List.of();
        }
    }

    /** The pools of {@code vpn} ({@code vpn.pool}, {@code vpn.pool6}), or none when the VPN mode is off. */
    public static List<Network> devicePools(GatewaySettings.Vpn vpn) {
        if (!vpn.enabled()) {
            return List.of();
        }
        return vpn.pool6() == null ? List.of(vpn.pool()) : List.of(vpn.pool(), vpn.pool6());
    }

    /** The VPN pools given at build time. */
    public List<Network> devicePools() {
        return devicePools;
    }

    /** The access policy over the resolved rules: what {@code TunnelGate.openFlow} asks. */
    public AccessPolicy policy() {
        return policy;
    }

    /**
     * What {@code groups} may reach by any rule, any protocol, any port: each family's ranges
     * sorted and merged, less the fixed forbidden ranges, the gateway's own addresses (as they are
     * now), the VPN pools and IPv4-mapped IPv6. A rule naming a forbidden address opens it to
     * CONNECT but gives no route: the device's own loopback or link-local is never routed to the
     * gateway. IPv6 forms that carry an IPv4 address are left in when a rule names them; the gate
     * still judges every flow.
     */
    public Routes routes(Set<String> groups) {
        List<AddressRange> granted = new ArrayList<>();
        for (Rule rule : rules) {
            if (rule.appliesTo(groups)) {
                for (Destination d : rule.to()) {
                    if (d.target() instanceof Destination.Net net) {
                        granted.add(AddressRange.of(net.network()));
                    }
                }
            }
        }
        List<AddressRange> excluded = new ArrayList<>();
        ForbiddenAddresses.fixedRanges().forEach(r -> excluded.add(AddressRange.of(r.network())));
        forbidden.ownAddresses().current().forEach(a -> excluded.add(AddressRange.of(Network.of(a))));
        devicePools.forEach(p -> excluded.add(AddressRange.of(p)));
        excluded.add(MAPPED);
        List<AddressRange> out = subtract(merge(granted), merge(excluded));
        return new Routes(out.stream().filter(AddressRange::isIpv4).toList(),
                out.stream().filter(r -> !r.isIpv4()).toList());
    }

    /**
     * The ranges a device may be routed to.
     *
     * @param ipv4 IPv4 ranges, sorted, disjoint, not adjacent
     * @param ipv6 IPv6 ranges, the same
     */
    public record Routes(List<AddressRange> ipv4, List<AddressRange> ipv6) {
        public Routes {
            ipv4 = List.copyOf(ipv4);
            ipv6 = List.copyOf(ipv6);
        }

        /** Both families, IPv4 first. */
        public List<AddressRange> all() {
            List<AddressRange> all = new ArrayList<>(ipv4);
            all.addAll(ipv6);
            return all;
        }
    }

    /** Sorted, with overlapping and adjacent ranges of a family joined. */
    static List<AddressRange> merge(List<AddressRange> ranges) {
        List<AddressRange> sorted = new ArrayList<>(ranges);
        Collections.sort(sorted);
        List<AddressRange> out = new ArrayList<>();
        for (AddressRange r : sorted) {
            if (!out.isEmpty()) {
                AddressRange last = out.get(out.size() - 1);
                if (last.isIpv4() == r.isIpv4()
                        && AddressRange.number(r.start()).compareTo(AddressRange.number(last.end()).add(BigInteger.ONE)) <= 0) {
                    if (AddressRange.number(r.end()).compareTo(AddressRange.number(last.end())) > 0) {
                        out.set(out.size() - 1, new AddressRange(last.start(), r.end()));
                    }
                    continue;
                }
            }
            out.add(r);
        }
        return out;
    }

    /** {@code ranges} less every address of {@code holes}; both merged, the result merged. */
    static List<AddressRange> subtract(List<AddressRange> ranges, List<AddressRange> holes) {
        List<AddressRange> out = new ArrayList<>();
        for (AddressRange r : ranges) {
            int length = r.start().getAddress().length;
            BigInteger from = AddressRange.number(r.start());
            BigInteger to = AddressRange.number(r.end());
            for (AddressRange h : holes) {
                if (h.isIpv4() != r.isIpv4() || from.compareTo(to) > 0) {
                    continue;
                }
                BigInteger hs = AddressRange.number(h.start());
                BigInteger he = AddressRange.number(h.end());
                if (he.compareTo(from) < 0 || hs.compareTo(to) > 0) {
                    continue;
                }
                if (hs.compareTo(from) > 0) {
                    out.add(new AddressRange(AddressRange.address(from, length),
                            AddressRange.address(hs.subtract(BigInteger.ONE), length)));
                }
                from = he.add(BigInteger.ONE);
            }
            if (from.compareTo(to) <= 0) {
                out.add(new AddressRange(AddressRange.address(from, length), AddressRange.address(to, length)));
            }
        }
        return out;
    }
}
