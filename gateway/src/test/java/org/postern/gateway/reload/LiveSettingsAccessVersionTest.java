package org.postern.gateway.reload;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.junit.jupiter.api.Test;
import org.postern.config.ConfigReader;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.policy.AccessDecision;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.AccessPolicyVersion;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.ForbiddenAddresses;

/**
 * Issue 15: the access policy's version ({@code accessPolicy} in the trail) follows the live
 * snapshot: the rules' digest, and a generation that goes up exactly when a reload changes them.
 */
class LiveSettingsAccessVersionTest {

    private static final String DB = """
            access:
              rules:
                - {name: db, groups: [dba], to: ["10.30.0.5:5432"]}
            """;
    private static final String SSH = """
            access:
              rules:
                - {name: ssh, groups: [admins], to: ["10.20.0.0/16:22"]}
            """;

    private static LiveSettings.Snapshot snapshot(String yaml) throws Exception {
        GatewaySettings s = ConfigReader.parse(yaml, "gateway.yaml", Path.of("."), GatewaySettings::read);
        SslContext tls = SslContextBuilder.forClient().build(); // the snapshot only carries it here
        return new LiveSettings.Snapshot(s, AccessPolicy.of(s.access(), Set.of()), tls, tls);
    }

    private static String digestOf(String yaml) throws Exception {
        return AccessPolicyVersion.digest(snapshot(yaml).settings().access());
    }

    @Test
    void generationGoesUpOnlyWhenTheRulesChange_andTheDigestNamesTheRules() throws Exception {
        LiveSettings live = new LiveSettings(snapshot(DB));
        AccessPolicy policy = live.accessPolicy();
        assertThat(live.accessPolicyVersion()).isEqualTo(digestOf(DB) + "-g1").matches("[0-9a-f]{12}-g1");
        assertThat(policy.version()).isEqualTo(live.accessPolicyVersion());

        live.swap(snapshot(DB + "vpn: {enabled: false}\n")); // a reload that leaves the rules alone
        assertThat(live.accessPolicyVersion()).isEqualTo(digestOf(DB) + "-g1");

        live.swap(snapshot(SSH));
        assertThat(live.accessPolicyVersion()).isEqualTo(digestOf(SSH) + "-g2");
        assertThat(digestOf(SSH)).isNotEqualTo(digestOf(DB));
        assertThat(policy.version()).as("the live policy names the version in force").isEqualTo(digestOf(SSH) + "-g2");

        live.swap(snapshot(DB)); // changed back: the old digest, a new generation
        assertThat(live.accessPolicyVersion()).isEqualTo(digestOf(DB) + "-g3");
    }

    @Test
    void pinned_decidesAndNamesTheSameRules_evenAfterASwap() throws Exception {
        LiveSettings live = new LiveSettings(snapshot(DB));
        AccessPolicy pinned = live.accessPolicy().pinned();
        live.swap(snapshot(SSH));
        assertThat(pinned.version()).isEqualTo(digestOf(DB) + "-g1");
        assertThat(pinned.decide(Set.of("dba"), "10.30.0.5", 5432, InetAddress.ofLiteral("10.30.0.5")))
                .isEqualTo(new AccessDecision.Allowed("db"));
        assertThat(live.accessPolicy().pinned().version()).isEqualTo(digestOf(SSH) + "-g2");
        assertThat(live.accessPolicy().decide(Set.of("dba"), "10.30.0.5", 5432, InetAddress.ofLiteral("10.30.0.5")))
                .isInstanceOf(AccessDecision.Denied.class);
    }

    @Test
    void vpnFlowPolicy_isNamedWithTheVersionInForce() throws Exception {
        LiveSettings live = new LiveSettings(snapshot(DB + "vpn: {enabled: true}\n"));
        DestinationResolver.Lookup none = host -> {
            throw new UnknownHostException(host);
        };
        var flows = live.flowPolicy(new ForbiddenAddresses(Set.of()), none);
        assertThat(flows.get().policy().version()).isEqualTo(digestOf(DB) + "-g1");
        live.swap(snapshot(SSH + "vpn: {enabled: true}\n"));
        assertThat(flows.get().policy().version()).isEqualTo(digestOf(SSH) + "-g2");
    }
}
