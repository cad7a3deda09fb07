package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;

class AccessPolicyTest {

    private static final Set<String> ADMINS = Set.of("admins");
    private static final InetAddress OWN = ip("10.20.0.1");

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private static Rule rule(String name, List<String> groups, String... to) {
        return new Rule(name, groups, java.util.Arrays.stream(to).map(Destination::parse).toList());
    }

    private static AccessPolicy policy(Rule... rules) {
        return AccessPolicy.of(new AccessRules(List.of(rules)), Set.of(OWN));
    }

    private static final AccessPolicy EXAMPLE = policy(
            rule("admins-ssh", List.of("admins"), "10.20.0.0/16:22", "db1.admin.internal:5432", "[2001:db8::/32]:443",
                    "10.30.0.5:8000-8100"),
            rule("dba", List.of("dba"), "db1.admin.internal:5432"));

    private static void assertDenied(AccessDecision d, String reason, String... detailParts) {
        assertThat(d).isInstanceOf(AccessDecision.Denied.class);
        AccessDecision.Denied denied = (AccessDecision.Denied) d;
        assertThat(denied.reason()).as(denied.detail()).isEqualTo(reason);
        for (String part : detailParts) {
            assertThat(denied.detail()).contains(part);
        }
    }

    // ---- deny by default, groups, ports -------------------------------------------------------

    @Test
    void decide_noRules_deniesEverything() {
        AccessDecision d = policy().decide(ADMINS, "10.20.1.1", 22, ip("10.20.1.1"));
        assertDenied(d, AccessDecision.NO_RULE, "groups [admins] asked for 10.20.1.1:22",
                "no rule names any of these groups");
    }

    @Test
    void decide_cidrRule_allowsAddressInside() {
        assertThat(EXAMPLE.decide(ADMINS, "10.20.7.9", 22, ip("10.20.7.9")))
                .isEqualTo(new AccessDecision.Allowed("admins-ssh"));
    }

    @Test
    void decide_cidrRule_matchesTheResolvedAddressOfAName() {
        assertThat(EXAMPLE.decide(ADMINS, "web.admin.internal", 22, ip("10.20.3.4")))
                .isEqualTo(new AccessDecision.Allowed("admins-ssh"));
    }

    @Test
    void decide_addressOutsideEveryRule_isNoRule() {
        AccessDecision d = EXAMPLE.decide(ADMINS, "10.21.0.1", 22, ip("10.21.0.1"));
        assertDenied(d, AccessDecision.NO_RULE, "groups [admins] asked for 10.21.0.1:22",
                "rules for these groups: admins-ssh (to 10.20.0.0/16:22, db1.admin.internal:5432");
    }

    @Test
    void decide_otherPort_isNoRule() {
        assertDenied(EXAMPLE.decide(ADMINS, "10.20.7.9", 23, ip("10.20.7.9")), AccessDecision.NO_RULE,
                "asked for 10.20.7.9:23");
    }

    @Test
    void decide_portRange_allowsBothEndsOnly() {
        assertThat(EXAMPLE.decide(ADMINS, "10.30.0.5", 8000, ip("10.30.0.5"))).isInstanceOf(AccessDecision.Allowed.class);
        assertThat(EXAMPLE.decide(ADMINS, "10.30.0.5", 8100, ip("10.30.0.5"))).isInstanceOf(AccessDecision.Allowed.class);
        assertDenied(EXAMPLE.decide(ADMINS, "10.30.0.5", 7999, ip("10.30.0.5")), AccessDecision.NO_RULE);
        assertDenied(EXAMPLE.decide(ADMINS, "10.30.0.5", 8101, ip("10.30.0.5")), AccessDecision.NO_RULE);
        assertDenied(EXAMPLE.decide(ADMINS, "10.30.0.6", 8050, ip("10.30.0.6")), AccessDecision.NO_RULE);
    }

    @Test
    void decide_ipv6Cidr_allowsInsideOnly() {
        assertThat(EXAMPLE.decide(ADMINS, "2001:db8:1::5", 443, ip("2001:db8:1::5")))
                .isEqualTo(new AccessDecision.Allowed("admins-ssh"));
        assertThat(EXAMPLE.decide(ADMINS, "[2001:db8:1::5]", 443, ip("2001:db8:1::5")))
                .as("brackets as in a CONNECT line").isInstanceOf(AccessDecision.Allowed.class);
        assertDenied(EXAMPLE.decide(ADMINS, "2001:db9::5", 443, ip("2001:db9::5")), AccessDecision.NO_RULE);
    }

    @Test
    void decide_groupNotInAnyRule_isNoRule() {
        assertDenied(EXAMPLE.decide(Set.of("guests"), "10.20.7.9", 22, ip("10.20.7.9")), AccessDecision.NO_RULE,
                "groups [guests]", "no rule names any of these groups");
        assertDenied(EXAMPLE.decide(Set.of(), "10.20.7.9", 22, ip("10.20.7.9")), AccessDecision.NO_RULE);
    }

    @Test
    void decide_anyOfTheOwnersGroups_isEnough() {
        assertThat(EXAMPLE.decide(Set.of("dba", "finance"), "db1.admin.internal", 5432, ip("10.40.0.2")))
                .isEqualTo(new AccessDecision.Allowed("dba"));
        assertDenied(EXAMPLE.decide(Set.of("dba"), "10.20.7.9", 22, ip("10.20.7.9")), AccessDecision.NO_RULE,
                "rules for these groups: dba (to db1.admin.internal:5432)");
    }

    @Test
    void decide_groupNames_areComparedExactly() {
        assertDenied(EXAMPLE.decide(Set.of("Admins"), "10.20.7.9", 22, ip("10.20.7.9")), AccessDecision.NO_RULE);
    }

    @Test
    void decide_hostNameRule_matchesTheNameCaseInsensitively() {
        assertThat(EXAMPLE.decide(ADMINS, "DB1.Admin.Internal.", 5432, ip("10.40.0.2")))
                .isEqualTo(new AccessDecision.Allowed("admins-ssh"));
    }

    @Test
    void decide_hostNameRule_doesNotMatchTheAddressOrAnotherName() {
        assertDenied(EXAMPLE.decide(Set.of("dba"), "10.40.0.2", 5432, ip("10.40.0.2")), AccessDecision.NO_RULE,
                "asked for 10.40.0.2:5432");
        assertDenied(EXAMPLE.decide(Set.of("dba"), "db2.admin.internal", 5432, ip("10.40.0.2")), AccessDecision.NO_RULE,
                "asked for db2.admin.internal:5432 (address 10.40.0.2)");
    }

    @Test
    void decide_firstMatchingRule_isNamed() {
        AccessPolicy p = policy(rule("one", List.of("a"), "10.0.0.0/8:22"), rule("two", List.of("a"), "10.1.0.0/16:22"));
        assertThat(p.decide(Set.of("a"), "10.1.0.1", 22, ip("10.1.0.1"))).isEqualTo(new AccessDecision.Allowed("one"));
    }

    // ---- bad destinations ---------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {0, -1, 65536, 70000})
    void decide_portOutOfRange_isBadDestination(int port) {
        assertDenied(EXAMPLE.decide(ADMINS, "10.20.7.9", port, ip("10.20.7.9")), AccessDecision.BAD_DESTINATION,
                "expected a port between 1 and 65535, found " + port);
    }

    @Test
    void decide_malformedHost_isBadDestination() {
        assertDenied(EXAMPLE.decide(ADMINS, "db 1;rm", 22, ip("10.20.7.9")), AccessDecision.BAD_DESTINATION,
                "found \"db 1;rm\"");
        assertDenied(EXAMPLE.decide(ADMINS, "", 22, ip("10.20.7.9")), AccessDecision.BAD_DESTINATION);
        assertDenied(EXAMPLE.decide(ADMINS, "db1.admin.internal", 22, null), AccessDecision.BAD_DESTINATION);
    }

    @Test
    void decide_literalResolvedToAnotherAddress_isBadDestination() {
        assertDenied(EXAMPLE.decide(ADMINS, "10.20.7.9", 22, ip("10.20.7.10")), AccessDecision.BAD_DESTINATION,
                "10.20.7.9", "10.20.7.10");
    }

    // ---- forbidden addresses ------------------------------------------------------------------

    private static final AccessPolicy EVERYWHERE = policy(
            rule("everywhere", List.of("admins"), "0.0.0.0/0:1-65535", "[::/0]:1-65535"));

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.1.2.3", "::1", "169.254.169.254", "169.254.10.1", "fe80::1",
        "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "10.20.0.1", "fd00:ec2::254"})
    void decide_forbiddenAddress_isRefusedEvenByACatchAllRule(String literal) {
        AccessDecision d = EVERYWHERE.decide(ADMINS, literal, 80, ip(literal));
        assertDenied(d, AccessDecision.FORBIDDEN_ADDRESS, "which is", "rule everywhere matches it only through");
    }

    @Test
    void decide_ipv4MappedLoopback_isNormalizedBeforeChecking() throws Exception {
        // An Inet6Address built from raw bytes keeps the mapped form: the check must still see 127.0.0.1.
        InetAddress mapped = java.net.Inet6Address.getByAddress(null,
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 127, 0, 0, 1}, -1);
        assertDenied(EVERYWHERE.decide(ADMINS, "::ffff:127.0.0.1", 22, mapped), AccessDecision.FORBIDDEN_ADDRESS,
                "asked for [::ffff:127.0.0.1]:22", "which is loopback");
    }

    @Test
    void decide_loopback_isAllowedWhenARuleNamesItByAddress() {
        AccessPolicy p = policy(rule("local-demo", List.of("admins"), "127.0.0.1:8080"));
        assertThat(p.decide(ADMINS, "127.0.0.1", 8080, ip("127.0.0.1"))).isEqualTo(new AccessDecision.Allowed("local-demo"));
        assertThat(p.decide(ADMINS, "::ffff:127.0.0.1", 8080, ip("::ffff:127.0.0.1")))
                .isEqualTo(new AccessDecision.Allowed("local-demo"));
        assertDenied(p.decide(ADMINS, "127.0.0.2", 8080, ip("127.0.0.2")), AccessDecision.FORBIDDEN_ADDRESS,
                "which is loopback");
        assertDenied(p.decide(Set.of("ops"), "127.0.0.1", 8080, ip("127.0.0.1")), AccessDecision.FORBIDDEN_ADDRESS);
    }

    @Test
    void decide_loopbackCidrInsideTheRange_opensIt() {
        AccessPolicy p = policy(rule("loop", List.of("admins"), "127.0.0.0/8:22", "[::1]:22"));
        assertThat(p.decide(ADMINS, "127.9.9.9", 22, ip("127.9.9.9"))).isInstanceOf(AccessDecision.Allowed.class);
        assertThat(p.decide(ADMINS, "::1", 22, ip("::1"))).isInstanceOf(AccessDecision.Allowed.class);
    }

    @Test
    void decide_hostNameRule_neverOpensAForbiddenAddress() {
        AccessPolicy p = policy(rule("local-name", List.of("admins"), "localhost:8080", "metadata.internal:80"));
        assertDenied(p.decide(ADMINS, "localhost", 8080, ip("127.0.0.1")), AccessDecision.FORBIDDEN_ADDRESS,
                "asked for localhost:8080 (address 127.0.0.1), which is loopback",
                "rule local-name matches it only through localhost:8080");
        assertDenied(p.decide(ADMINS, "metadata.internal", 80, ip("169.254.169.254")), AccessDecision.FORBIDDEN_ADDRESS,
                "which is link-local, cloud metadata");
    }

    @Test
    void decide_linkLocalRule_doesNotOpenTheMetadataAddress() {
        AccessPolicy p = policy(rule("link", List.of("admins"), "169.254.0.0/16:80"));
        assertThat(p.decide(ADMINS, "169.254.1.1", 80, ip("169.254.1.1"))).isInstanceOf(AccessDecision.Allowed.class);
        assertDenied(p.decide(ADMINS, "169.254.169.254", 80, ip("169.254.169.254")), AccessDecision.FORBIDDEN_ADDRESS,
                "inside 169.254.0.0/16 and 169.254.169.254");
        AccessPolicy named = policy(rule("metadata", List.of("admins"), "169.254.169.254:80"));
        assertThat(named.decide(ADMINS, "169.254.169.254", 80, ip("169.254.169.254")))
                .isEqualTo(new AccessDecision.Allowed("metadata"));
    }

    @Test
    void decide_gatewaysOwnAddress_isRefusedByTheCidrThatContainsIt() {
        assertDenied(EXAMPLE.decide(ADMINS, "10.20.0.1", 22, ip("10.20.0.1")), AccessDecision.FORBIDDEN_ADDRESS,
                "which is the gateway's own address");
        AccessPolicy named = policy(rule("gw-ssh", List.of("admins"), "10.20.0.1:22"));
        assertThat(named.decide(ADMINS, "10.20.0.1", 22, ip("10.20.0.1"))).isEqualTo(new AccessDecision.Allowed("gw-ssh"));
    }

    @Test
    void decide_unspecifiedAndMulticast_refusedUnlessNamed() {
        assertDenied(EVERYWHERE.decide(ADMINS, "0.0.0.0", 22, ip("0.0.0.0")), AccessDecision.FORBIDDEN_ADDRESS,
                "which is unspecified");
        assertDenied(EVERYWHERE.decide(ADMINS, "239.1.1.1", 5000, ip("239.1.1.1")), AccessDecision.FORBIDDEN_ADDRESS,
                "which is multicast");
        AccessPolicy named = policy(rule("mcast", List.of("admins"), "239.1.1.1:5000"));
        assertThat(named.decide(ADMINS, "239.1.1.1", 5000, ip("239.1.1.1"))).isInstanceOf(AccessDecision.Allowed.class);
    }

    @Test
    void forbiddenAddresses_classifyOrdinaryAdminAddressesAsAllowed() {
        ForbiddenAddresses f = new ForbiddenAddresses(Set.of(OWN));
        for (String ok : List.of("10.20.0.2", "192.168.1.1", "2001:db8::1", "fd00::1", "8.8.8.8")) {
            assertThat(f.isForbidden(ip(ok))).as(ok).isFalse();
        }
        assertThat(ForbiddenAddresses.describe(f.rangesOf(ip("169.254.169.254")))).isEqualTo("link-local, cloud metadata");
        assertThat(Map.of("x", f.rangesOf(ip("::ffff:10.20.0.1")))).extractingByKey("x").asList()
                .as("mapped form of the gateway's own address").isNotEmpty();
    }
}
