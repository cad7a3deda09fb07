package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.config.ConfigReader;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.GatewaySettings;

/** Issue 15: the access policy version names the rules, not the file's layout. */
class AccessPolicyVersionTest {

    private static AccessRules rules(String yaml) {
        return ConfigReader.parse(yaml, "gateway.yaml", Path.of("."), GatewaySettings::read).access();
    }

    @Test
    void sameRulesWrittenDifferently_sameDigest() {
        AccessRules a = rules("""
                access:
                  rules:
                    - {name: ssh, groups: [admins, ops], to: ["10.20.0.0/16:22", "DB1.admin.internal:5432"]}
                """);
        AccessRules b = rules("""
                # the same rules: other order of groups and destinations, other case, comments, block style
                access:
                  rules:
                    - name: ssh
                      to: ["db1.admin.internal:5432", "10.20.0.0/16:22"]
                      protocols: [tcp]
                      groups: [ops, admins, ops]
                """);
        assertThat(AccessPolicyVersion.digest(a)).isEqualTo(AccessPolicyVersion.digest(b)).matches("[0-9a-f]{12}");
        assertThat(AccessPolicyVersion.of(a, 4)).isEqualTo(AccessPolicyVersion.digest(a) + "-g4");
    }

    @Test
    void anyChangeThatCanChangeADecision_changesTheDigest() {
        String base = AccessPolicyVersion.digest(rules("""
                access:
                  rules:
                    - {name: ssh, groups: [admins], to: ["10.20.0.0/16:22"]}
                    - {name: db, groups: [dba], to: ["10.30.0.5:5432"]}
                """));
        List<String> variants = List.of(
                "- {name: ssh, groups: [admins], to: [\"10.20.0.0/16:23\"]}\n    - {name: db, groups: [dba], to: [\"10.30.0.5:5432\"]}",
                "- {name: ssh, groups: [admin], to: [\"10.20.0.0/16:22\"]}\n    - {name: db, groups: [dba], to: [\"10.30.0.5:5432\"]}",
                "- {name: ssh, groups: [admins], to: [\"10.20.0.0/16:22\"], protocols: [tcp, udp]}\n    - {name: db, groups: [dba], to: [\"10.30.0.5:5432\"]}",
                "- {name: db, groups: [dba], to: [\"10.30.0.5:5432\"]}\n    - {name: ssh, groups: [admins], to: [\"10.20.0.0/16:22\"]}",
                "- {name: ssh2, groups: [admins], to: [\"10.20.0.0/16:22\"]}\n    - {name: db, groups: [dba], to: [\"10.30.0.5:5432\"]}",
                "- {name: ssh, groups: [admins], to: [\"10.20.0.0/16:22\"]}");
        for (String v : variants) {
            assertThat(AccessPolicyVersion.digest(rules("access:\n  rules:\n    " + v + "\n"))).as(v).isNotEqualTo(base);
        }
        assertThat(AccessPolicyVersion.digest(AccessRules.denyAll())).isNotEqualTo(base);
    }

    @Test
    void aGroupNameWithAComma_isNotTwoGroups() {
        AccessRules one = new AccessRules(List.of(new AccessRules.Rule("r", List.of("a,b"),
                List.of(org.postern.config.gateway.Destination.parse("10.0.0.1:22")))));
        AccessRules two = new AccessRules(List.of(new AccessRules.Rule("r", List.of("a", "b"),
                List.of(org.postern.config.gateway.Destination.parse("10.0.0.1:22")))));
        assertThat(AccessPolicyVersion.digest(one)).isNotEqualTo(AccessPolicyVersion.digest(two));
    }

    @Test
    void generationBelowOne_isRefused() {
        assertThatThrownBy(() -> AccessPolicyVersion.of(AccessRules.denyAll(), 0))
                .hasMessage("access policy generation: expected 1 or more, found 0");
    }

    @Test
    void policyOf_isGenerationOne() {
        AccessRules r = rules("access:\n  rules:\n    - {name: ssh, groups: [admins], to: [\"10.20.0.0/16:22\"]}\n");
        assertThat(AccessPolicy.of(r, java.util.Set.of()).version()).isEqualTo(AccessPolicyVersion.digest(r) + "-g1");
    }
}
