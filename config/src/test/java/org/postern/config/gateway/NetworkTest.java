package org.postern.config.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Membership of an address in networks, and the proxies a listener trusts (normalized once per peer). */
class NetworkTest {

    private static final ProxyProtocol.Listener SEVERAL = new ProxyProtocol.Listener(List.of(
            Network.parse("10.0.0.0/24"), Network.parse("192.0.2.7"), Network.parse("10.9.8.128/25"),
            Network.parse("2001:db8::/64"), Network.parse("127.0.0.0/8")));

    @ParameterizedTest(name = "{0} trusted: {1}")
    @CsvSource({
        "10.0.0.77, true", "::ffff:10.0.0.77, true", "10.0.1.0, false",
        "192.0.2.7, true", "::ffff:192.0.2.7, true", "192.0.2.8, false",
        "10.9.8.128, true", "10.9.8.255, true", "::ffff:10.9.8.200, true", "10.9.8.127, false",
        "2001:db8::5, true", "2001:db8:0:1::5, false",
        "::ffff:127.0.0.1, true", "127.1.2.3, true", "::1, false", "::7f00:1, false",
    })
    void trusts_severalNetworks_eachPeerAgainstAllOfThem(String peer, boolean trusted) {
        assertThat(SEVERAL.trusts(InetAddress.ofLiteral(peer))).isEqualTo(trusted);
    }

    @Test
    void containsNormalized_agreesWithContains_onNormalizedBytes() {
        Network n = Network.parse("10.9.8.128/25");
        for (String a : List.of("10.9.8.128", "10.9.8.255", "10.9.8.127", "10.9.9.128", "::ffff:10.9.8.130", "2001:db8::1")) {
            InetAddress ip = InetAddress.ofLiteral(a);
            assertThat(n.containsNormalized(Network.normalize(ip).getAddress())).as(a).isEqualTo(n.contains(ip));
        }
    }

    @Test
    void containsNormalized_mappedBytesNotNormalized_doNotMatchTheIpv4Network() {
        // the caller's duty, as documented: un-normalized 16 bytes are another family, never a match by accident
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 0, 0, 5};
        assertThat(Network.parse("10.0.0.0/24").containsNormalized(mapped)).isFalse();
        assertThat(Network.parse("0.0.0.0/0").containsNormalized(new byte[] {(byte) 203, 0, 113, 9})).isTrue();
    }
}
