package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;

class AccessRulesCheckTest {

    private static List<Finding> check(String... to) {
        var rule = new AccessRules.Rule("r1", List.of("admins"), Arrays.stream(to).map(Destination::parse).toList());
        return new AccessRulesCheck(new AccessRules(List.of(rule))).run();
    }

    @Test
    void noRules_isInfo() {
        List<Finding> f = new AccessRulesCheck(AccessRules.denyAll()).run();
        assertThat(f).singleElement().extracting(Finding::message)
                .isEqualTo("no access rules: no device reaches anything (deny by default)");
    }

    @Test
    void adminNetworkRules_onlyInfo() {
        List<Finding> f = check("10.20.0.0/16:22", "db1.admin.internal:5432", "[2001:db8::/48]:443");
        assertThat(f).singleElement().extracting(Finding::severity).isEqualTo(Severity.INFO);
    }

    @Test
    void loopback_isCritical() {
        Finding c = Findings.only(check("127.0.0.1:9443"), Severity.CRITICAL);
        assertThat(c.message()).isEqualTo("access rule r1 (groups admins) to 127.0.0.1:9443 opens loopback addresses,"
                + " which the gateway refuses unless a rule names them");
    }

    @Test
    void metadata_ipv4AndIpv6_isCritical() {
        List<Finding> f = check("169.254.169.254:80", "[fd00:ec2::254]:80");
        assertThat(Findings.of(f, Severity.CRITICAL)).hasSize(2).extracting(Finding::message)
                .anyMatch(m -> m.contains("169.254.169.254") && m.contains("link-local, cloud metadata"))
                .anyMatch(m -> m.contains("fd00:ec2") && !m.contains("link-local") && m.contains("cloud metadata"));
    }

    @Test
    void otherLinkLocal_isWarning() {
        Finding w = Findings.only(check("169.254.10.0/24:22"), Severity.WARNING);
        assertThat(w.message()).contains("opens link-local addresses");
    }

    @Test
    void everyAddress_isCritical_andASlash8_isWarning() {
        List<Finding> f = check("0.0.0.0/0:443", "[::/0]:443", "10.0.0.0/8:22", "[2001:db8::/32]:22");
        List<Finding> critical = Findings.of(f, Severity.CRITICAL);
        assertThat(critical).hasSize(2);
        assertThat(critical.get(0).message()).isEqualTo("access rule r1 (groups admins) to 0.0.0.0/0:443 opens every IPv4"
                + " address (the gateway still refuses loopback, link-local and metadata)");
        assertThat(critical.get(1).message()).endsWith(" opens every IPv6 address (the gateway still refuses loopback,"
                + " link-local and metadata)");
        List<Finding> warnings = Findings.of(f, Severity.WARNING);
        assertThat(warnings).hasSize(2);
        assertThat(warnings.get(0).message()).isEqualTo("access rule r1 (groups admins) to 10.0.0.0/8:22 opens a /8 network");
        assertThat(warnings.get(1).message()).startsWith("access rule r1 (groups admins) to [2001:db8:").endsWith(" opens a /32 network");
    }
}
