package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;

/**
 * Issue 11 item 3: an IPv6 address that carries an IPv4 address (IPv4-compatible, IPv4-translated,
 * NAT64 of RFC 6052 in every layout, 6to4, Teredo) is judged by the IPv4 it carries.
 */
class EmbeddedIpv4PolicyTest {

    private static final Set<String> ADMINS = Set.of("admins");
    private static final InetAddress OWN = ip("10.20.0.1");

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private static AccessPolicy policy(String... to) {
        return AccessPolicy.of(new AccessRules(List.of(new Rule("r", List.of("admins"),
                Arrays.stream(to).map(Destination::parse).toList()))), Set.of(OWN));
    }

    private static final AccessPolicy EVERYWHERE = policy("0.0.0.0/0:1-65535", "[::/0]:1-65535");

    private static AccessDecision.Denied denied(AccessDecision d) {
        assertThat(d).isInstanceOf(AccessDecision.Denied.class);
        return (AccessDecision.Denied) d;
    }

    @ParameterizedTest(name = "{0} carries {1}")
    @CsvSource({
        // IPv4-compatible (RFC 4291 2.5.5.1)
        "::127.0.0.1,                  127.0.0.1,       loopback",
        "::7f00:1,                     127.0.0.1,       loopback",
        "::169.254.169.254,            169.254.169.254, cloud metadata",
        "::0:0:0:0:0:a14:1,            10.20.0.1,       the gateway's own address",
        // IPv4-translated (RFC 2765)
        "::ffff:0:127.0.0.1,           127.0.0.1,       loopback",
        // NAT64, the well-known prefix (RFC 6052)
        "64:ff9b::7f00:1,              127.0.0.1,       loopback",
        "64:ff9b::127.0.0.1,           127.0.0.1,       loopback",
        "0064:ff9b:0000:0000:0000:0000:7f00:0001, 127.0.0.1, loopback",
        "64:ff9b::a9fe:a9fe,           169.254.169.254, cloud metadata",
        "64:ff9b::e000:1,              224.0.0.1,       multicast",
        "64:ff9b::ffff:ffff,           255.255.255.255, broadcast",
        "64:ff9b::a14:1,               10.20.0.1,       the gateway's own address",
        // NAT64 network-specific layouts inside 64:ff9b::/32 (RFC 6052 2.2), the local-use /48 (RFC 8215) among them
        "64:ff9b:7f00:1::,             127.0.0.1,       loopback",   // /32
        "64:ff9b:7f:0:1::,             127.0.0.1,       loopback",   // /40: 7f 00 00 | u | 01
        "64:ff9b:1:7f00:0:100::,       127.0.0.1,       loopback",   // /48 (local-use): 7f 00 | u | 00 01
        "64:ff9b:1:7f:0:1::,           127.0.0.1,       loopback",   // /56 (local-use): 7f | u | 00 00 01
        "64:ff9b:1:0:7f:0:100::,       127.0.0.1,       loopback",   // /64 (local-use): u | 7f 00 00 01
        "64:ff9b:1::7f00:1,            127.0.0.1,       loopback",   // /96 (local-use)
        "64:ff9b:1:0:a9:fea9:fe00::,   169.254.169.254, cloud metadata", // /64
        // 6to4 (RFC 3056)
        "2002:7f00:1::1,               127.0.0.1,       loopback",
        "2002:a9fe:a9fe:1::5,          169.254.169.254, cloud metadata",
        // Teredo (RFC 4380): server, then client (inverted)
        "2001:0:7f00:1::1,             127.0.0.1,       loopback",
        "2001:0:5ef5:79fb:0:0:80ff:fffe, 127.0.0.1,     loopback",
    })
    void decide_ipv6CarryingAForbiddenIpv4_isRefusedEvenByACatchAllRule(String literal, String carried, String kind) {
        AccessDecision.Denied d = denied(EVERYWHERE.decide(ADMINS, literal, 443, ip(literal)));
        assertThat(d.reason()).as(d.detail()).isEqualTo(AccessDecision.FORBIDDEN_ADDRESS);
        assertThat(d.detail()).contains("which is ").contains(kind + " " + carried + " carried as ")
                .contains("rule r matches it only through [0:0:0:0:0:0:0:0/0]:1-65535");
    }

    @Test
    void decide_ruleForTheIpv4Address_doesNotOpenItsEmbeddedForms() {
        AccessPolicy loop = policy("127.0.0.1:22", "127.0.0.0/8:22");
        assertThat(loop.decide(ADMINS, "127.0.0.1", 22, ip("127.0.0.1"))).isInstanceOf(AccessDecision.Allowed.class);
        // the mapped form is the IPv4 address itself (the kernel connects it to 127.0.0.1)
        assertThat(loop.decide(ADMINS, "::ffff:127.0.0.1", 22, ip("::ffff:127.0.0.1")))
                .isInstanceOf(AccessDecision.Allowed.class);
        for (String other : List.of("::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "::ffff:0:7f00:1")) {
            AccessDecision.Denied d = denied(loop.decide(ADMINS, other, 22, ip(other)));
            assertThat(d.reason()).as(other + ": " + d.detail()).isEqualTo(AccessDecision.FORBIDDEN_ADDRESS);
        }
    }

    @Test
    void decide_wideNat64Rule_opensOrdinaryAddressesButNotForbiddenOnes() {
        AccessPolicy nat64 = policy("[64:ff9b::/96]:443");
        assertThat(nat64.decide(ADMINS, "64:ff9b::a00:5", 443, ip("64:ff9b::a00:5")))
                .isEqualTo(new AccessDecision.Allowed("r"));
        AccessDecision.Denied d = denied(nat64.decide(ADMINS, "64:ff9b::7f00:1", 443, ip("64:ff9b::7f00:1")));
        assertThat(d.reason()).isEqualTo(AccessDecision.FORBIDDEN_ADDRESS);
        assertThat(d.detail()).contains("asked for [64:ff9b::7f00:1]:443, which is loopback 127.0.0.1 carried as "
                + "NAT64 64:ff9b::/96 (RFC 6052)").contains("a CIDR inside 64:ff9b:0:0:0:0:7f00:0/104");
    }

    @Test
    void decide_ruleNamingTheEmbeddedFormInsideItsImage_opensIt() {
        AccessPolicy named = policy("[64:ff9b::7f00:1]:22", "[64:ff9b::7f00:0/104]:80");
        assertThat(named.decide(ADMINS, "64:ff9b::7f00:1", 22, ip("64:ff9b::7f00:1"))).isInstanceOf(AccessDecision.Allowed.class);
        assertThat(named.decide(ADMINS, "64:ff9b::7f12:3", 80, ip("64:ff9b::7f12:3"))).isInstanceOf(AccessDecision.Allowed.class);
    }

    @Test
    void decide_ipv4RuleDoesNotMatchAnOrdinaryEmbeddedForm() {
        // the gateway connects to the IPv6 address (through a translator), not to 10.0.0.5
        AccessDecision.Denied d = denied(policy("10.0.0.5:22").decide(ADMINS, "64:ff9b::a00:5", 22, ip("64:ff9b::a00:5")));
        assertThat(d.reason()).isEqualTo(AccessDecision.NO_RULE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"64:ff9b::a00:5", "64:ff9b:1::a00:5", "64:ff9b:1:2a00::a00:5", "::a00:5", "2002:a00:5::1",
        "2001:0:a00:5::f5ff:fffa", "2001:db8::1", "fd00::1", "2a00:1450:4001:80b::200e"})
    void forbiddenAddresses_embeddedOrdinaryIpv4_isNotForbidden(String literal) {
        ForbiddenAddresses f = new ForbiddenAddresses(Set.of(OWN));
        assertThat(f.rangesOf(ip(literal))).as(literal).isEmpty();
    }

    @Test
    void forbiddenAddresses_nat64LayoutShorterThan96_isReadEveryWayItCouldBe() {
        // 10.0.0.5 in the /48 layout: its zero suffix also reads as 0.0.0.0 in the /96 layout, and the
        // gateway cannot know which one the translator uses, so it is refused (docs/gateway.md)
        ForbiddenAddresses f = new ForbiddenAddresses(Set.of(OWN));
        assertThat(ForbiddenAddresses.describe(f.rangesOf(ip("64:ff9b:1:a00:0:500::"))))
                .contains("unspecified 0.0.0.0 carried as NAT64 64:ff9b::/96 layout (RFC 6052)");
    }

    @Test
    void forbiddenAddresses_nat64WithReservedBitsSet_isRefused() {
        // bits 64-71 must be zero in every RFC 6052 layout; such an address is read no way and refused
        ForbiddenAddresses f = new ForbiddenAddresses(Set.of(OWN));
        assertThat(ForbiddenAddresses.describe(f.rangesOf(ip("64:ff9b:1:a00:ff00:500::"))))
                .contains("bits 64-71 set, in no RFC 6052 layout");
    }

    @Test
    void resolver_nameWithADns64AnswerForLoopback_isRefused() {
        DestinationResolver r = new DestinationResolver(new ForbiddenAddresses(Set.of(OWN)),
                host -> List.of(ip("64:ff9b::7f00:1")));
        assertThat(r.resolve("sneaky.example", 443)).isInstanceOfSatisfying(DestinationResolver.Refused.class,
                refused -> assertThat(refused.denial().detail()).contains("resolves to 64:ff9b:0:0:0:0:7f00:1, which is loopback"));
    }
}
