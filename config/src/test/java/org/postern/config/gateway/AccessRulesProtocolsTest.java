package org.postern.config.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.ConfigException;

/** A rule's {@code protocols:}: tcp unless it says otherwise, so existing rules keep their meaning. */
class AccessRulesProtocolsTest {

    @TempDir
    Path dir;

    private AccessRules load(String rules) throws IOException {
        return GatewaySettings.load(Files.writeString(dir.resolve("gateway.yaml"), "access:\n  rules:\n" + rules)).access();
    }

    private List<String> problems(String rules) throws IOException {
        Path f = Files.writeString(dir.resolve("gateway.yaml"), "access:\n  rules:\n" + rules);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> GatewaySettings.load(f));
        assertThat(e).isNotNull();
        return e.problems().stream().map(p -> p.replace(f.toString(), "gateway.yaml")).toList();
    }

    @Test
    void absent_isTcpOnly() throws IOException {
        AccessRules.Rule rule = load("    - {name: a, groups: [admins], to: [\"10.0.0.0/8:22\"]}\n").rules().get(0);
        assertThat(rule.protocols()).containsExactly(Protocol.TCP);
        assertThat(rule.allows(Protocol.TCP)).isTrue();
        assertThat(rule.allows(Protocol.UDP)).as("UDP only when named").isFalse();
        assertThat(rule.allows(Protocol.ICMP)).as("ICMP only when named").isFalse();
        assertThat(rule).isEqualTo(new AccessRules.Rule("a", List.of("admins"), List.of(Destination.parse("10.0.0.0/8:22"))));
    }

    @Test
    void listed_areGrantedAndNothingElse() throws IOException {
        AccessRules.Rule rule = load("    - {name: a, groups: [admins], protocols: [udp, icmp, udp], to: [\"10.0.0.53:53\"]}\n")
                .rules().get(0);
        assertThat(rule.protocols()).containsExactlyInAnyOrder(Protocol.UDP, Protocol.ICMP);
        assertThat(rule.allows(Protocol.TCP)).as("naming protocols replaces the tcp default").isFalse();
    }

    @Test
    void badValues_nameTheKeyExpectedAndFound() throws IOException {
        assertThat(problems("    - {name: a, groups: [admins], protocols: [tcp, sctp, TCP], to: [\"10.0.0.1:22\"]}\n"))
                .containsExactly(
                        "gateway.yaml: access.rules[0].protocols[1]: expected one of tcp, udp, icmp, found \"sctp\"",
                        "gateway.yaml: access.rules[0].protocols[2]: expected one of tcp, udp, icmp, found \"TCP\"");
        assertThat(problems("    - {name: a, groups: [admins], protocols: [], to: [\"10.0.0.1:22\"]}\n")).containsExactly(
                "gateway.yaml: access.rules[0].protocols: expected at least one of tcp, udp, icmp, found an empty list");
        assertThat(problems("    - {name: a, groups: [admins], protocols: udp, to: [\"10.0.0.1:22\"]}\n")).containsExactly(
                "gateway.yaml: access.rules[0].protocols: expected a list of strings, found \"udp\"");
    }

    @Test
    void constructor_refusesNoProtocol() {
        assertThatThrownBy(() -> new AccessRules.Rule("a", List.of("admins"), List.of(Destination.parse("10.0.0.1:22")),
                Set.of())).hasMessage("access rule a: expected at least one protocol (one of tcp, udp, icmp), found none");
    }

    @Test
    void ofIpProtocol_mapsTheFourNumbersAndNothingElse() {
        assertThat(Protocol.ofIpProtocol(6)).contains(Protocol.TCP);
        assertThat(Protocol.ofIpProtocol(17)).contains(Protocol.UDP);
        assertThat(Protocol.ofIpProtocol(1)).contains(Protocol.ICMP);
        assertThat(Protocol.ofIpProtocol(58)).contains(Protocol.ICMP);
        assertThat(Protocol.ofIpProtocol(47)).isEmpty();
        assertThat(Protocol.ofIpProtocol(132)).isEmpty();
    }
}
