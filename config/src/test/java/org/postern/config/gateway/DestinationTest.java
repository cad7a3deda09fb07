package org.postern.config.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postern.config.ConfigException;
import org.postern.config.InvalidValueException;

class DestinationTest {

    @TempDir
    Path dir;

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    @Test
    void parse_ipv4Cidr_withSinglePort() {
        Destination d = Destination.parse("10.20.0.0/16:22");
        assertThat(d.target()).isEqualTo(new Destination.Net(Network.parse("10.20.0.0/16")));
        assertThat(d.lowPort()).isEqualTo(22);
        assertThat(d.highPort()).isEqualTo(22);
        Network n = ((Destination.Net) d.target()).network();
        assertThat(n.contains(ip("10.20.255.1"))).isTrue();
        assertThat(n.contains(ip("10.21.0.1"))).isFalse();
    }

    @Test
    void parse_hostName_isLowerCasedWithoutTrailingDot() {
        Destination d = Destination.parse("DB1.Admin.Internal.:5432");
        assertThat(d.target()).isEqualTo(new Destination.HostName("db1.admin.internal"));
        assertThat(d.toString()).isEqualTo("db1.admin.internal:5432");
    }

    @Test
    void parse_ipv6Cidr_inBrackets() {
        Destination d = Destination.parse("[2001:db8::/32]:443");
        Network n = ((Destination.Net) d.target()).network();
        assertThat(n.prefixLength()).isEqualTo(32);
        assertThat(n.contains(ip("2001:db8:ffff::1"))).isTrue();
        assertThat(n.contains(ip("2001:db9::1"))).isFalse();
        assertThat(n.contains(ip("10.0.0.1"))).as("no match across families").isFalse();
    }

    @Test
    void parse_singleIpv6Address_isANetworkOfOne() {
        Destination d = Destination.parse("[2001:db8::5]:22");
        Network n = ((Destination.Net) d.target()).network();
        assertThat(n.isSingleAddress()).isTrue();
        assertThat(n.prefixLength()).isEqualTo(128);
    }

    @Test
    void parse_portRange_includesBothEnds() {
        Destination d = Destination.parse("10.30.0.5:8000-8100");
        assertThat(d.target()).isEqualTo(new Destination.Net(Network.parse("10.30.0.5/32")));
        assertThat(d.allowsPort(7999)).isFalse();
        assertThat(d.allowsPort(8000)).isTrue();
        assertThat(d.allowsPort(8050)).isTrue();
        assertThat(d.allowsPort(8100)).isTrue();
        assertThat(d.allowsPort(8101)).isFalse();
        assertThat(d.toString()).isEqualTo("10.30.0.5:8000-8100");
    }

    @Test
    void parse_fullPortRange_isAccepted() {
        Destination d = Destination.parse("db1:1-65535");
        assertThat(d.allowsPort(1)).isTrue();
        assertThat(d.allowsPort(65535)).isTrue();
    }

    @Test
    void parse_ipv4MappedIpv6_isTheIpv4Address() {
        Destination d = Destination.parse("[::ffff:127.0.0.1]:22");
        assertThat(d.target()).isEqualTo(new Destination.Net(Network.parse("127.0.0.1")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0/33:22", "10.0.0.1", "10.0.0.1:", ":22", "10.0.0.1:ssh", "db1:22:23",
        "2001:db8::1:22", "[10.0.0.1]:22", "[2001:db8::/129]:443", "[2001:db8::1]22", "999.0.0.1:22",
        "10.0.0:22", "010.0.0.1:22", "db_1:22", "-db:22", "10.0.0.1/8/8:22", "10.0.0.0/-1:22", "", "db1:22-"})
    void parse_malformed_namesTheExpectedForms(String text) {
        assertThatThrownBy(() -> Destination.parse(text))
                .isInstanceOf(InvalidValueException.class)
                .hasMessageStartingWith("expected HOST:PORT, CIDR:PORT or HOST:LOW-HIGH")
                .hasMessageEndingWith("found \"" + text + "\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"db1:0", "db1:65536", "10.0.0.1:99999", "db1:8100-8000", "db1:0-22", "db1:22-70000"})
    void parse_portOutOfRange_saysWhichPortsAreValid(String text) {
        assertThatThrownBy(() -> Destination.parse(text))
                .isInstanceOf(InvalidValueException.class)
                .hasMessage("expected ports between 1 and 65535, a range written LOW-HIGH with LOW <= HIGH, found \""
                        + text + "\"");
    }

    @Test
    void parse_cidrWithHostBits_isRefusedAsLikelyMistake() {
        assertThatThrownBy(() -> Destination.parse("10.20.0.1/16:22"))
                .hasMessage("expected a network address with no host bits set, like 10.20.0.0/16, found \"10.20.0.1/16:22\"");
    }

    @Test
    void network_contains_normalizesIpv4MappedAddresses() throws Exception {
        InetAddress mapped = InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 127, 0, 0, 1});
        assertThat(Network.parse("127.0.0.0/8").contains(mapped)).isTrue();
        assertThat(Network.normalize(mapped)).isEqualTo(ip("127.0.0.1"));
        assertThat(Network.parseAddress("::ffff:169.254.169.254")).isEqualTo(ip("169.254.169.254"));
    }

    @Test
    void network_containsNetwork_onlyWhenWhollyInside() {
        Network loopback = Network.parse("127.0.0.0/8");
        assertThat(loopback.contains(Network.parse("127.0.0.1"))).isTrue();
        assertThat(loopback.contains(Network.parse("127.1.0.0/16"))).isTrue();
        assertThat(loopback.contains(Network.parse("0.0.0.0/0"))).isFalse();
        assertThat(Network.parse("::/0").contains(Network.parse("2001:db8::/32"))).isTrue();
    }

    // ---- rules in a file ---------------------------------------------------------------------

    private List<String> problems(String yaml) throws IOException {
        Path f = Files.writeString(dir.resolve("gateway.yaml"), yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> GatewaySettings.load(f));
        assertThat(e).as("expected a ConfigException for:\n" + yaml).isNotNull();
        return e.problems().stream().map(p -> p.replace(f.toString(), "gateway.yaml")).toList();
    }

    @Test
    void rules_everyDestinationForm_parses() throws IOException {
        Path f = Files.writeString(dir.resolve("gateway.yaml"), """
                access:
                  rules:
                    - name: admins-ssh
                      groups: [admins, sre]
                      to: ["10.20.0.0/16:22", "db1.admin.internal:5432", "[2001:db8::/32]:443",
                           "10.30.0.5:8000-8100", "[2001:db8::5]:22", "10.0.0.7:22", "db2:1000-2000"]
                    - name: dba
                      groups: [dba]
                      to: ["db1.admin.internal:5432"]
                """);
        AccessRules access = GatewaySettings.load(f).access();
        assertThat(access.rules()).extracting(AccessRules.Rule::name).containsExactly("admins-ssh", "dba");
        assertThat(access.rules().get(0).groups()).containsExactly("admins", "sre");
        assertThat(access.rules().get(0).to()).hasSize(7);
    }

    @Test
    void rules_badEntries_eachNamedByRuleAndIndex() throws IOException {
        assertThat(problems("""
                access:
                  rules:
                    - name: a
                      groups: [admins]
                      to: ["10.20.0.0/16:22"]
                    - name: b
                      groups: [ops]
                      to: ["10.0.0.1:22", "db1:0", "10.0.0.0/33:22", 5]
                """)).containsExactly(
                "gateway.yaml: access.rules[1].to[1]: expected ports between 1 and 65535, a range written LOW-HIGH"
                        + " with LOW <= HIGH, found \"db1:0\"",
                "gateway.yaml: access.rules[1].to[2]: expected HOST:PORT, CIDR:PORT or HOST:LOW-HIGH, found \"10.0.0.0/33:22\"",
                "gateway.yaml: access.rules[1].to[3]: expected HOST:PORT, CIDR:PORT or HOST:LOW-HIGH, found \"5\"");
    }

    @Test
    void rules_missingPartsAndDuplicateNames_areReported() throws IOException {
        assertThat(problems("""
                access:
                  rules:
                    - name: a
                      groups: [admins]
                      to: ["db1:22"]
                    - name: a
                      groups: [ops]
                      to: ["db2:22"]
                    - name: "bad name"
                      to: []
                      from: x
                    - just-a-string
                """)).containsExactly(
                "gateway.yaml: access.rules[2].name: expected a rule name of letters, digits, '.', '_' or '-', like"
                        + " admins-ssh, found \"bad name\"",
                "gateway.yaml: access.rules[2].groups: expected a list of groups like [admins], found none",
                "gateway.yaml: access.rules[2].to: expected at least one destination, found an empty list",
                "gateway.yaml: access.rules[2].from: unknown key (expected one of: name, groups, to, protocols, hours, except)",
                "gateway.yaml: access.rules[3]: expected a map, found \"just-a-string\"",
                "gateway.yaml: access.rules: expected each rule name once, found \"a\" more than once");
    }

    @Test
    void rule_constructor_refusesEmptyGroupsOrDestinations() {
        assertThatThrownBy(() -> new AccessRules.Rule("r", List.of(), List.of(Destination.parse("db1:22"))))
                .hasMessage("access rule r: expected at least one group, found []");
        assertThatThrownBy(() -> new AccessRules.Rule("r", List.of("g"), List.of()))
                .hasMessage("access rule r: expected at least one destination, found none");
    }
}
