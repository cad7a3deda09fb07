package org.postern.gateway.reload;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.junit.jupiter.api.Test;
import org.postern.config.ConfigReader;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.Protocol;
import org.postern.gateway.policy.AccessDecision;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;

/** The flow policy follows the live snapshot: built once per snapshot, absent while the VPN mode is off. */
class LiveSettingsFlowPolicyTest {

    private final AtomicInteger lookups = new AtomicInteger();
    private final DestinationResolver.Lookup lookup = host -> {
        lookups.incrementAndGet();
        if (host.equals("db1.admin.internal")) {
            return List.of(InetAddress.ofLiteral("10.30.0.5"));
        }
        throw new UnknownHostException(host);
    };
    private final ForbiddenAddresses forbidden = new ForbiddenAddresses(Set.of());

    private static LiveSettings.Snapshot snapshot(String yaml) throws Exception {
        GatewaySettings s = ConfigReader.parse(yaml, "gateway.yaml", Path.of("."), GatewaySettings::read);
        SslContext tls = SslContextBuilder.forClient().build(); // the snapshot only carries it here
        return new LiveSettings.Snapshot(s, AccessPolicy.of(s.access(), Set.of()), tls, tls);
    }

    private static final String RULES = """
            access:
              rules:
                - {name: db, groups: [dba], to: ["db1.admin.internal:5432"]}
            """;

    @Test
    void builtOncePerSnapshot_andRebuiltAfterASwap() throws Exception {
        LiveSettings live = new LiveSettings(snapshot(RULES + "vpn: {enabled: true}\n"));
        Supplier<FlowPolicy> flows = live.flowPolicy(forbidden, lookup);
        assertThat(lookups).hasValue(0);
        FlowPolicy first = flows.get();
        assertThat(first.devicePools()).extracting(Object::toString).containsExactly("100.64.0.0/16");
        assertThat(first.policy().decide(Set.of("dba"), Protocol.TCP, "10.30.0.5", 5432, InetAddress.ofLiteral("10.30.0.5")))
                .isEqualTo(new AccessDecision.Allowed("db"));
        assertThat(flows.get()).isSameAs(first);
        assertThat(lookups).as("the host name is resolved once per snapshot").hasValue(1);

        live.swap(snapshot(RULES + "vpn: {enabled: true, pool: 10.99.0.0/24}\n"));
        assertThat(flows.get().devicePools()).extracting(Object::toString).containsExactly("10.99.0.0/24");
        assertThat(lookups).hasValue(2);
    }

    @Test
    void vpnOff_givesNoFlowPolicy() throws Exception {
        LiveSettings live = new LiveSettings(snapshot(RULES));
        assertThat(live.flowPolicy(forbidden, lookup).get()).isNull();
        assertThat(lookups).hasValue(0);
    }
}
