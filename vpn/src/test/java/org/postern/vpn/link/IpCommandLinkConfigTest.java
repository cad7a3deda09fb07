package org.postern.vpn.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.config.gateway.Network;
import org.postern.vpn.tun.LinuxTun;
import org.postern.vpn.tun.NetNamespace;
import org.postern.vpn.tun.NetnsTestBase;
import org.postern.vpn.tun.TestNetns;

/** Real {@code ip} on a real TUN interface in a namespace {@code pt-<random>} the test creates and deletes. */
class IpCommandLinkConfigTest extends NetnsTestBase {

    @Test
    void addRoutes_aLongAdvertisement_inOneBatch_thenRemoved() throws Exception {
        try (LinuxTun tun = NetNamespace.call(ns.name, () -> LinuxTun.open("pt-rt0"))) {
            IpCommandLinkConfig link = IpCommandLinkConfig.inNamespace(ns.name);
            link.up(tun.name(), 1400);
            link.addAddress(tun.name(), LinkAddress.parse("10.99.0.1/24"));
            link.addAddress(tun.name(), LinkAddress.parse("fd00:99::1/64"));
            List<Network> routes = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                routes.add(Network.parse("10.100." + i / 256 + "." + (i % 256) + "/32"));
            }
            routes.add(Network.parse("10.20.0.0/16"));
            routes.add(Network.parse("fd00:20::/48"));

            link.addRoutes(tun.name(), routes);
            link.addRoutes(tun.name(), routes); // a repeated advertisement replaces, never fails
            String v4 = TestNetns.run(List.of("ip", "-n", ns.name, "-4", "route", "show", "dev", tun.name()));
            assertThat(v4.lines().filter(l -> l.startsWith("10.100.")).count()).isEqualTo(300);
            assertThat(v4).contains("10.20.0.0/16 ");
            assertThat(TestNetns.run(List.of("ip", "-n", ns.name, "-6", "route", "show", "dev", tun.name())))
                    .contains("fd00:20::/48 ");

            link.removeRoutes(tun.name(), routes);
            assertThat(TestNetns.run(List.of("ip", "-n", ns.name, "-4", "route", "show", "dev", tun.name())))
                    .doesNotContain("10.100.").doesNotContain("10.20.0.0/16");
            assertThat(TestNetns.run(List.of("ip", "-n", ns.name, "link", "show", "dev", tun.name())))
                    .contains("mtu 1400").contains(",UP");
            assertThat(TestNetns.run(List.of("ip", "-n", ns.name, "-6", "address", "show", "dev", tun.name())))
                    .as("no link-local address: the kernel sends no IPv6 chatter into the tunnel")
                    .contains("fd00:99::1/64").doesNotContain("fe80:");
        }
    }

    @Test
    void addAddress_noSuchDevice_errorCarriesIpsOwnWords() {
        IpCommandLinkConfig link = IpCommandLinkConfig.inNamespace(ns.name);
        assertThatThrownBy(() -> link.addAddress("pt-none0", LinkAddress.parse("10.99.0.1/24")))
                .hasMessageStartingWith("ip -n " + ns.name + " address add 10.99.0.1/24 dev pt-none0 failed with exit code 1: ")
                .hasMessageContaining("Cannot find device \"pt-none0\"");
    }

    @Test
    void addRoutes_deviceNameThatWouldInjectABatchLine_refused() {
        IpCommandLinkConfig link = IpCommandLinkConfig.inNamespace(ns.name);
        assertThatThrownBy(() -> link.addRoutes("pt0\nlink del lo", List.of(Network.parse("10.0.0.0/8"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("interface name: expected 1 to 15 letters, digits, '.', '_' or '-', found");
    }
}
