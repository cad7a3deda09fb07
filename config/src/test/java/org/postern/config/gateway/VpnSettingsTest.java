package org.postern.config.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.ConfigException;
import org.postern.config.HostPort;

/** The {@code vpn:} section of gateway.yaml: each key, its default, and each bad value. */
class VpnSettingsTest {

    @TempDir
    Path dir;

    private GatewaySettings load(String yaml) throws IOException {
        return GatewaySettings.load(Files.writeString(dir.resolve("gateway.yaml"), yaml));
    }

    private List<String> problems(String yaml) throws IOException {
        Path f = Files.writeString(dir.resolve("gateway.yaml"), yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> GatewaySettings.load(f));
        assertThat(e).as("expected a ConfigException for:\n" + yaml).isNotNull();
        return e.problems().stream().map(p -> p.replace(f.toString(), "gateway.yaml")).toList();
    }

    @Test
    void absentSection_isOffWithTheDocumentedDefaults() throws IOException {
        GatewaySettings.Vpn v = load("listeners:\n  tunnel: 0.0.0.0:443\n").vpn();
        assertThat(v.enabled()).isFalse();
        assertThat(v.pool()).isEqualTo(Network.parse("100.64.0.0/16"));
        assertThat(v.pool6()).isNull();
        assertThat(v.dns()).isEmpty();
        assertThat(v.searchDomains()).isEmpty();
        assertThat(v.listen()).as("the tunnel listener's host and port").isEqualTo(HostPort.parse("0.0.0.0:443"));
        assertThat(v.interfaceName()).isEqualTo("postern0");
        assertThat(v.nat()).isFalse();
        assertThat(v.fullTunnel()).isFalse();
        assertThat(v.idleTimeouts()).isEqualTo(new GatewaySettings.Vpn.IdleTimeouts(Duration.ofHours(1),
                Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(30)));
        assertThat(v.maxFlowsPerSession()).isEqualTo(1024);
        assertThat(GatewaySettings.defaults().vpn().enabled()).isFalse();
    }

    @Test
    void everyKey_isRead() throws IOException {
        GatewaySettings.Vpn v = load("""
                vpn:
                  enabled: true
                  pool: 10.99.0.0/20
                  pool6: fd00:7057::/64
                  dns: [10.20.0.53, "2001:db8::53"]
                  searchDomains: [Admin.Internal., corp.example]
                  listen: 0.0.0.0:8443
                  interface: vpn-gw.0
                  nat: true
                  fullTunnel: true
                  idleTimeouts: {tcp: 2h, tcpClosing: 5s, udp: 2m, icmp: 10s}
                  maxFlowsPerSession: 200
                """).vpn();
        assertThat(v.enabled()).isTrue();
        assertThat(v.pool()).isEqualTo(Network.parse("10.99.0.0/20"));
        assertThat(v.pool6()).isEqualTo(Network.parse("fd00:7057::/64"));
        assertThat(v.dns()).containsExactly(InetAddress.ofLiteral("10.20.0.53"), InetAddress.ofLiteral("2001:db8::53"));
        assertThat(v.searchDomains()).containsExactly("admin.internal", "corp.example");
        assertThat(v.listen()).isEqualTo(HostPort.parse("0.0.0.0:8443"));
        assertThat(v.interfaceName()).isEqualTo("vpn-gw.0");
        assertThat(v.nat()).isTrue();
        assertThat(v.fullTunnel()).isTrue();
        assertThat(v.idleTimeouts()).isEqualTo(new GatewaySettings.Vpn.IdleTimeouts(Duration.ofHours(2),
                Duration.ofSeconds(5), Duration.ofMinutes(2), Duration.ofSeconds(10)));
        assertThat(v.maxFlowsPerSession()).isEqualTo(200);
        assertThat(v.inPool(InetAddress.ofLiteral("10.99.15.255"))).isTrue();
        assertThat(v.inPool(InetAddress.ofLiteral("10.99.16.0"))).isFalse();
        assertThat(v.inPool(InetAddress.ofLiteral("fd00:7057::9"))).isTrue();
    }

    @Test
    void pool_badShapes_nameTheKeyExpectedAndFound() throws IOException {
        String expected = "expected an IPv4 network between /8 and /30 like 100.64.0.0/16, found ";
        assertThat(problems("vpn:\n  pool: 100.64.0.0/31\n")).containsExactly("gateway.yaml: vpn.pool: " + expected + "\"100.64.0.0/31\"");
        assertThat(problems("vpn:\n  pool: 10.0.0.0/7\n")).containsExactly("gateway.yaml: vpn.pool: " + expected + "\"10.0.0.0/7\"");
        assertThat(problems("vpn:\n  pool: fd00::/64\n")).containsExactly("gateway.yaml: vpn.pool: " + expected + "\"fd00::/64\"");
        assertThat(problems("vpn:\n  pool: 100.64.0.1/16\n")).containsExactly("gateway.yaml: vpn.pool: " + expected + "\"100.64.0.1/16\"");
        assertThat(problems("vpn:\n  pool: pool-a\n")).containsExactly("gateway.yaml: vpn.pool: " + expected + "\"pool-a\"");
    }

    @Test
    void pool_overlappingSpecialRanges_isRefused() throws IOException {
        assertThat(problems("vpn:\n  pool: 127.10.0.0/16\n")).containsExactly(
                "gateway.yaml: vpn.pool: expected a network outside 127.0.0.0/8 (loopback), found \"127.10.0.0/16\"");
        assertThat(problems("vpn:\n  pool: 169.254.169.0/24\n")).containsExactly("gateway.yaml: vpn.pool: expected a"
                + " network outside 169.254.0.0/16 (link-local and cloud metadata), found \"169.254.169.0/24\"");
        assertThat(problems("vpn:\n  pool: 127.0.0.0/8\n")).as("the whole range").containsExactly(
                "gateway.yaml: vpn.pool: expected a network outside 127.0.0.0/8 (loopback), found \"127.0.0.0/8\"");
        assertThat(problems("vpn:\n  pool: 0.0.0.0/8\n")).singleElement().asString().contains("(unspecified)");
        assertThat(problems("vpn:\n  pool: 224.1.0.0/16\n")).singleElement().asString().contains("(multicast)");
        assertThat(problems("vpn:\n  pool: 240.0.0.0/8\n")).singleElement().asString().contains("(reserved and broadcast)");
    }

    @Test
    void pool6_badValues_areRefused() throws IOException {
        String expected = "expected an IPv6 prefix between /64 and /120 like fd00:7057::/64, found ";
        assertThat(problems("vpn:\n  pool6: fd00::/48\n")).containsExactly("gateway.yaml: vpn.pool6: " + expected + "\"fd00::/48\"");
        assertThat(problems("vpn:\n  pool6: fd00::/121\n")).containsExactly("gateway.yaml: vpn.pool6: " + expected + "\"fd00::/121\"");
        assertThat(problems("vpn:\n  pool6: 10.0.0.0/24\n")).containsExactly("gateway.yaml: vpn.pool6: " + expected + "\"10.0.0.0/24\"");
        assertThat(problems("vpn:\n  pool6: fe80::/64\n")).containsExactly(
                "gateway.yaml: vpn.pool6: expected a network outside fe80::/10 (link-local), found \"fe80::/64\"");
        assertThat(problems("vpn:\n  pool6: \"64:ff9b::/96\"\n")).singleElement().asString().contains("(NAT64)");
        assertThat(problems("vpn:\n  pool6: fd00:ec2::/64\n")).singleElement().asString().contains("(cloud metadata)");
    }

    @Test
    void dnsAndSearchDomains_badElements_nameTheirIndex() throws IOException {
        assertThat(problems("vpn:\n  dns: [10.20.0.53, resolver.internal, 10.0.0.256]\n")).containsExactly(
                "gateway.yaml: vpn.dns[1]: expected a resolver's IP address like 10.20.0.53, found \"resolver.internal\"",
                "gateway.yaml: vpn.dns[2]: expected a resolver's IP address like 10.20.0.53, found \"10.0.0.256\"");
        assertThat(problems("vpn:\n  dns: 10.20.0.53\n")).containsExactly(
                "gateway.yaml: vpn.dns: expected a list of strings, found \"10.20.0.53\"");
        assertThat(problems("vpn:\n  dns: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4, 1.1.1.5, 1.1.1.6, 1.1.1.7, 1.1.1.8, 1.1.1.9]\n"))
                .containsExactly("gateway.yaml: vpn.dns: expected at most 8 resolvers, found 9");
        assertThat(problems("vpn:\n  searchDomains: [admin.internal, \"bad domain\", \"10.0.0\"]\n")).containsExactly(
                "gateway.yaml: vpn.searchDomains[1]: expected a DNS domain like admin.internal, found \"bad domain\"",
                "gateway.yaml: vpn.searchDomains[2]: expected a DNS domain like admin.internal, found \"10.0.0\"");
    }

    @Test
    void scalars_badValues_nameTheKey() throws IOException {
        assertThat(problems("vpn:\n  enabled: yes\n")).containsExactly("gateway.yaml: vpn.enabled: expected true or false, found \"yes\"");
        assertThat(problems("vpn:\n  nat: 1\n")).containsExactly("gateway.yaml: vpn.nat: expected true or false, found 1");
        assertThat(problems("vpn:\n  fullTunnel: \"true\"\n")).containsExactly(
                "gateway.yaml: vpn.fullTunnel: expected true or false, found \"true\"");
        assertThat(problems("vpn:\n  listen: 8443\n")).containsExactly(
                "gateway.yaml: vpn.listen: expected host:port like 127.0.0.1:8443 or [::1]:8443, found 8443");
        assertThat(problems("vpn:\n  maxFlowsPerSession: 0\n")).containsExactly(
                "gateway.yaml: vpn.maxFlowsPerSession: expected an integer between 1 and 65536, found 0");
        assertThat(problems("vpn:\n  unknown: 1\n")).singleElement().asString()
                .startsWith("gateway.yaml: vpn.unknown: unknown key (expected one of: enabled, pool, pool6, dns,");
        assertThat(problems("vpn: true\n")).containsExactly("gateway.yaml: vpn: expected a map, found true");
    }

    @Test
    void interface_badNames_areRefused() throws IOException {
        String expected = "expected an interface name of 1 to 15 letters, digits, '_', '.' or '-', starting with a letter"
                + " or digit, like postern0, found ";
        assertThat(problems("vpn:\n  interface: postern-gateway0\n")).containsExactly(
                "gateway.yaml: vpn.interface: " + expected + "\"postern-gateway0\"");
        assertThat(problems("vpn:\n  interface: \"tun/0\"\n")).containsExactly("gateway.yaml: vpn.interface: " + expected + "\"tun/0\"");
        assertThat(problems("vpn:\n  interface: \"..\"\n")).containsExactly("gateway.yaml: vpn.interface: " + expected + "\"..\"");
        assertThat(problems("vpn:\n  interface: \"tun 0\"\n")).containsExactly("gateway.yaml: vpn.interface: " + expected + "\"tun 0\"");
    }

    @Test
    void idleTimeouts_outOfBounds_nameTheKey() throws IOException {
        assertThat(problems("vpn:\n  idleTimeouts: {tcp: 25h}\n")).containsExactly(
                "gateway.yaml: vpn.idleTimeouts.tcp: expected a duration between 1s and 1d, found \"25h\"");
        assertThat(problems("vpn:\n  idleTimeouts: {udp: 0s}\n")).containsExactly(
                "gateway.yaml: vpn.idleTimeouts.udp: expected a duration between 1s and 1h, found \"0s\"");
        assertThat(problems("vpn:\n  idleTimeouts: {icmp: soon}\n")).singleElement().asString()
                .startsWith("gateway.yaml: vpn.idleTimeouts.icmp: expected a duration like");
        assertThat(problems("vpn:\n  idleTimeouts: {tcpClosing: 2h}\n")).containsExactly(
                "gateway.yaml: vpn.idleTimeouts.tcpClosing: expected a duration between 1s and 1h, found \"2h\"");
    }

    @Test
    void constructor_refusesWhatTheFileWould() {
        GatewaySettings.Vpn d = GatewaySettings.Vpn.disabled(HostPort.parse("127.0.0.1:8443"));
        assertThatThrownBy(() -> new GatewaySettings.Vpn(true, Network.parse("127.0.0.0/16"), null, List.of(), List.of(),
                d.listen(), "postern0", false, false, d.idleTimeouts(), 10))
                .hasMessage("vpn.pool: expected a network outside 127.0.0.0/8 (loopback), found 127.0.0.0/16");
        assertThatThrownBy(() -> new GatewaySettings.Vpn(true, d.pool(), Network.parse("fd00::/32"), List.of(), List.of(),
                d.listen(), "postern0", false, false, d.idleTimeouts(), 10))
                .hasMessage("vpn.pool6: expected an IPv6 prefix between /64 and /120 like fd00:7057::/64, found fd00:0:0:0:0:0:0:0/32");
        assertThatThrownBy(() -> new GatewaySettings.Vpn(true, d.pool(), null, List.of(), List.of(), d.listen(),
                "a-very-long-interface", false, false, d.idleTimeouts(), 10))
                .hasMessageStartingWith("vpn.interface: expected an interface name");
        assertThatThrownBy(() -> new GatewaySettings.Vpn(true, d.pool(), null, List.of(), List.of("bad domain"),
                d.listen(), "postern0", false, false, d.idleTimeouts(), 10))
                .hasMessage("vpn.searchDomains: expected a DNS domain like admin.internal, found \"bad domain\"");
        assertThatThrownBy(() -> new GatewaySettings.Vpn(true, d.pool(), null, List.of(), List.of(), d.listen(),
                "postern0", false, false, d.idleTimeouts(), 0))
                .hasMessage("vpn.maxFlowsPerSession: expected an integer between 1 and 65536, found 0");
        assertThatThrownBy(() -> new GatewaySettings.Vpn.IdleTimeouts(Duration.ZERO, Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessage("vpn.idleTimeouts.tcp: expected a duration between 1s and 1d, found 0s");
    }
}
