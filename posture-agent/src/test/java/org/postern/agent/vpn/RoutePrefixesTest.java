package org.postern.agent.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.agent.vpn.VpnEngineTest.ip;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.vpn.capsule.IpAddressRange;

class RoutePrefixesTest {

    private static List<String> prefixes(String start, String end) {
        return RoutePrefixes.of(List.of(new IpAddressRange(ip(start), ip(end), 0))).stream().map(RoutePrefixes::text).toList();
    }

    @Test
    void range_becomesTheFewestPrefixes() {
        assertThat(prefixes("10.0.0.1", "10.0.0.6")).containsExactly("10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32");
        assertThat(prefixes("10.88.0.0", "10.88.255.255")).containsExactly("10.88.0.0/16");
        assertThat(prefixes("10.88.0.5", "10.88.0.5")).containsExactly("10.88.0.5/32");
        assertThat(prefixes("fd00:706f::", "fd00:706f::ffff")).containsExactly("fd00:706f::/112");
    }

    @Test
    void wholeFamily_becomesItsTwoHalves_soTheDefaultRouteStays() {
        assertThat(prefixes("0.0.0.0", "255.255.255.255")).containsExactly("0.0.0.0/1", "128.0.0.0/1");
        assertThat(prefixes("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).containsExactly("::/1", "8000::/1");
    }
}
