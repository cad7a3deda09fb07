package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.Protocol;

/** The routes a device's groups are advertised: every rule's addresses, merged, less what is never routed. */
class FlowPolicyTest {

    private static final List<Network> POOLS = List.of(Network.parse("100.64.0.0/16"), Network.parse("fd00:7057::/64"));

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private static Rule rule(String name, String group, String... to) {
        return new Rule(name, List.of(group), Arrays.stream(to).map(Destination::parse).toList());
    }

    private static final DestinationResolver.Lookup LOOKUP = host -> switch (host) {
        case "db1.admin.internal" -> List.of(ip("10.30.0.5"), ip("2001:db8:1::5"));
        case "evil.admin.internal" -> List.of(ip("127.0.0.1"));
        default -> throw new UnknownHostException(host);
    };

    private static FlowPolicy build(Rule... rules) {
        return FlowPolicy.build(new AccessRules(List.of(rules)), new ForbiddenAddresses(Set.of(ip("10.20.0.1"))), POOLS, LOOKUP);
    }

    private static List<String> shown(List<AddressRange> ranges) {
        return ranges.stream().map(AddressRange::toString).toList();
    }

    @Test
    void routes_areMergedSortedPerFamily_andOnlyForTheGroups() {
        FlowPolicy f = build(
                rule("a", "admins", "10.20.1.0/24:22", "10.20.0.0/24:22", "[2001:db8::/64]:443"),
                rule("b", "admins", "10.20.2.0/23:443", "db1.admin.internal:5432", "nowhere.internal:80"),
                new Rule("c", List.of("admins"), List.of(Destination.parse("10.20.4.7:53")), EnumSet.of(Protocol.UDP)),
                rule("other", "dba", "192.0.2.0/24:5432"));
        FlowPolicy.Routes r = f.routes(Set.of("admins"));
        assertThat(shown(r.ipv4())).as("adjacent /24s and the /23 join; the own address 10.20.0.1 is cut out")
                .containsExactly("10.20.0.0", "10.20.0.2-10.20.3.255", "10.20.4.7", "10.30.0.5");
        assertThat(shown(r.ipv6())).containsExactly("2001:db8:0:0:0:0:0:0-2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8:1:0:0:0:0:5");
        assertThat(f.routes(Set.of("dba")).all()).extracting(AddressRange::toString).containsExactly("192.0.2.0-192.0.2.255");
        assertThat(f.routes(Set.of("nobody")).all()).isEmpty();
    }

    @Test
    void routes_leaveOutForbiddenRangesAndThePools() {
        FlowPolicy f = build(rule("all", "admins", "0.0.0.0/0:443", "[::/0]:443", "127.0.0.1:8080", "evil.admin.internal:80"));
        FlowPolicy.Routes r = f.routes(Set.of("admins"));
        assertThat(r.ipv4()).noneMatch(x -> x.contains(ip("127.0.0.1")) || x.contains(ip("169.254.169.254"))
                || x.contains(ip("100.64.3.3")) || x.contains(ip("10.20.0.1")) || x.contains(ip("224.0.0.1"))
                || x.contains(ip("0.0.0.1")) || x.contains(ip("255.255.255.255")));
        assertThat(r.ipv4()).anyMatch(x -> x.contains(ip("10.20.0.2")));
        assertThat(r.ipv4()).anyMatch(x -> x.contains(ip("100.65.0.0")));
        assertThat(shown(r.ipv4())).contains("1.0.0.0-10.20.0.0", "10.20.0.2-100.63.255.255", "100.65.0.0-126.255.255.255");
        assertThat(r.ipv6()).noneMatch(x -> x.contains(ip("::1")) || x.contains(ip("fe80::1")) || x.contains(ip("ff02::1"))
                || x.contains(ip("fd00:7057::9")) || x.contains(ip("fd00:ec2::254")));
        assertThat(r.ipv6()).anyMatch(x -> x.contains(ip("2001:db8::1")));
        assertThat(r.ipv6()).allSatisfy(x -> assertThat(x.isIpv4()).isFalse());
    }

    @Test
    void hostNameResolvingToAForbiddenAddress_isNeitherRouteNorGrant() {
        FlowPolicy f = build(rule("evil", "admins", "evil.admin.internal:80"));
        assertThat(f.routes(Set.of("admins")).all()).isEmpty();
        AccessDecision d = f.policy().decide(Set.of("admins"), Protocol.TCP, "127.0.0.1", 80, ip("127.0.0.1"));
        assertThat(((AccessDecision.Denied) d).reason()).isEqualTo(AccessDecision.FORBIDDEN_ADDRESS);
    }

    @Test
    void policy_grantsAHostNameRulesAddresses_forItsPortsOnly() {
        FlowPolicy f = build(rule("db", "admins", "db1.admin.internal:5432"));
        assertThat(f.policy().decide(Set.of("admins"), Protocol.TCP, "10.30.0.5", 5432, ip("10.30.0.5")))
                .isEqualTo(new AccessDecision.Allowed("db"));
        assertThat(f.policy().decide(Set.of("admins"), Protocol.TCP, "2001:db8:1::5", 5432, ip("2001:db8:1::5")))
                .isEqualTo(new AccessDecision.Allowed("db"));
        assertThat(f.policy().decide(Set.of("admins"), Protocol.TCP, "10.30.0.5", 22, ip("10.30.0.5")))
                .isInstanceOf(AccessDecision.Denied.class);
    }

    @Test
    void addressRange_prefixes_coverExactly() {
        AddressRange r = new AddressRange(ip("10.20.0.2"), ip("10.20.3.255"));
        assertThat(r.prefixes()).extracting(Network::toString)
                .containsExactly("10.20.0.2/31", "10.20.0.4/30", "10.20.0.8/29", "10.20.0.16/28", "10.20.0.32/27",
                        "10.20.0.64/26", "10.20.0.128/25", "10.20.1.0/24", "10.20.2.0/23");
        assertThat(AddressRange.of(Network.parse("0.0.0.0/0")).prefixes()).extracting(Network::toString).containsExactly("0.0.0.0/0");
        assertThat(AddressRange.of(Network.parse("10.0.0.5")).prefixes()).extracting(Network::toString).containsExactly("10.0.0.5");
        assertThat(AddressRange.of(Network.parse("2001:db8::/64")).prefixes()).hasSize(1);
    }

    @Test
    void merge_andSubtract_keepFamiliesApart() {
        List<AddressRange> merged = FlowPolicy.merge(List.of(AddressRange.of(Network.parse("10.0.0.0/8")),
                AddressRange.of(Network.parse("::/0")), AddressRange.of(Network.parse("10.1.0.0/16"))));
        assertThat(shown(merged)).containsExactly("10.0.0.0-10.255.255.255", "0:0:0:0:0:0:0:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        assertThat(shown(FlowPolicy.subtract(merged, List.of(AddressRange.of(Network.parse("10.0.0.0/9"))))))
                .containsExactly("10.128.0.0-10.255.255.255", "0:0:0:0:0:0:0:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    }
}
