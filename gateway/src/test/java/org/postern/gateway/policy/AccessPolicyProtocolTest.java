package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Protocol;

/** The protocol half of a decision: TCP unless a rule names UDP or ICMP; CONNECT and SSH ask for TCP. */
class AccessPolicyProtocolTest {

    private static final Set<String> ADMINS = Set.of("admins");

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private static Rule rule(String name, Set<Protocol> protocols, String... to) {
        return new Rule(name, List.of("admins"), Arrays.stream(to).map(Destination::parse).toList(), protocols);
    }

    private static final AccessPolicy POLICY = AccessPolicy.of(new AccessRules(List.of(
            rule("ssh", Rule.DEFAULT_PROTOCOLS, "10.20.0.0/16:22"),
            rule("dns", EnumSet.of(Protocol.UDP), "10.20.0.53:53"),
            rule("ping", EnumSet.of(Protocol.ICMP), "10.20.0.0/24:1"),
            rule("ntp-local", EnumSet.of(Protocol.UDP), "127.0.0.1:123"))), Set.of(ip("10.99.0.1")));

    @Test
    void tcpRule_allowsTcpOnly() {
        assertThat(POLICY.decide(ADMINS, "10.20.1.1", 22, ip("10.20.1.1"))).isEqualTo(new AccessDecision.Allowed("ssh"));
        assertThat(POLICY.decide(ADMINS, Protocol.TCP, "10.20.1.1", 22, ip("10.20.1.1")))
                .isEqualTo(new AccessDecision.Allowed("ssh"));
        AccessDecision udp = POLICY.decide(ADMINS, Protocol.UDP, "10.20.1.1", 22, ip("10.20.1.1"));
        assertThat(udp).isInstanceOf(AccessDecision.Denied.class);
        assertThat(((AccessDecision.Denied) udp).reason()).isEqualTo(AccessDecision.NO_RULE);
        assertThat(((AccessDecision.Denied) udp).detail()).contains("asked for udp 10.20.1.1:22",
                "rules for these groups: dns (to 10.20.0.53:53); ntp-local");
    }

    @Test
    void udpRule_allowsUdpOnItsPortsOnly_andNotTcp() {
        assertThat(POLICY.decide(ADMINS, Protocol.UDP, "10.20.0.53", 53, ip("10.20.0.53")))
                .isEqualTo(new AccessDecision.Allowed("dns"));
        assertThat(POLICY.decide(ADMINS, Protocol.UDP, "10.20.0.53", 54, ip("10.20.0.53")))
                .isInstanceOf(AccessDecision.Denied.class);
        assertThat(POLICY.decide(ADMINS, "10.20.0.53", 53, ip("10.20.0.53"))).as("CONNECT asks for tcp")
                .isEqualTo(new AccessDecision.Denied(AccessDecision.NO_RULE,
                        "groups [admins] asked for 10.20.0.53:53; no rule allows it: rules for these groups: ssh (to 10.20.0.0/16:22)"));
    }

    @Test
    void icmpRule_ignoresPorts_andIsDeniedWithoutAGrant() {
        assertThat(POLICY.decide(ADMINS, Protocol.ICMP, "10.20.0.7", 0, ip("10.20.0.7")))
                .isEqualTo(new AccessDecision.Allowed("ping"));
        AccessDecision outside = POLICY.decide(ADMINS, Protocol.ICMP, "10.20.1.7", 0, ip("10.20.1.7"));
        assertThat(outside).isInstanceOf(AccessDecision.Denied.class);
        assertThat(((AccessDecision.Denied) outside).detail()).contains("asked for icmp 10.20.1.7;");
        AccessPolicy tcpOnly = AccessPolicy.of(new AccessRules(List.of(rule("ssh", Rule.DEFAULT_PROTOCOLS, "10.20.0.0/16:22"))),
                Set.of());
        assertThat(tcpOnly.decide(ADMINS, Protocol.ICMP, "10.20.0.7", 0, ip("10.20.0.7"))).isEqualTo(
                new AccessDecision.Denied(AccessDecision.NO_RULE, "groups [admins] asked for icmp 10.20.0.7; no rule allows it:"
                        + " no rule for these groups grants icmp (a rule grants tcp unless its protocols: list names others)"));
    }

    @Test
    void forbiddenAddress_opensOnlyForTheProtocolOfTheRuleNamingIt() {
        assertThat(POLICY.decide(ADMINS, Protocol.UDP, "127.0.0.1", 123, ip("127.0.0.1")))
                .isEqualTo(new AccessDecision.Allowed("ntp-local"));
        AccessDecision tcp = POLICY.decide(ADMINS, Protocol.TCP, "127.0.0.1", 123, ip("127.0.0.1"));
        assertThat(((AccessDecision.Denied) tcp).reason()).isEqualTo(AccessDecision.FORBIDDEN_ADDRESS);
    }

    @Test
    void badPort_isStillBadForTcpAndUdp() {
        assertThat(((AccessDecision.Denied) POLICY.decide(ADMINS, Protocol.UDP, "10.20.0.53", 0, ip("10.20.0.53"))).reason())
                .isEqualTo(AccessDecision.BAD_DESTINATION);
    }
}
