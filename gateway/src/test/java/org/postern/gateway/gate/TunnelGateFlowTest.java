package org.postern.gateway.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.Protocol;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.protocol.HostPort;
import org.postern.protocol.Reasons;
import org.postern.protocol.posture.PostureVerdict;

/** {@link TunnelGate#openFlow}: the same admission as CONNECT, then the address as the packet names it. */
class TunnelGateFlowTest {

    private static final Instant NOW = Instant.parse("2026-12-01T09:00:00Z");
    private static final Who LAPTOP = Who.device("laptop-1", "192.0.2.1:5000");
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;
    private static final int ICMPV6 = 58;
    private static final InetAddress OWN = ip("10.20.0.1");

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private final LeaseStore leases = new LeaseStore(Clock.fixed(NOW, ZoneOffset.UTC), Ticker.systemTicker(),
            Scheduler.disabledScheduler(), 100, LeaseStore.Listener.NONE);
    private DeviceStatus status = DeviceStatus.ACTIVE;
    private int lookups;

    private final Registry registry = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(),
            new Class<?>[] {Registry.class}, (proxy, method, args) -> {
                if (method.getName().equals("device")) {
                    return Optional.of(new Device("laptop-1", "alice", List.of("dba"), status, null, NOW, NOW, null, null));
                }
                throw new UnsupportedOperationException(method.getName());
            });

    private final AccessRules rules = new AccessRules(List.of(
            new AccessRules.Rule("db", List.of("dba"), List.of(Destination.parse("db1.admin.internal:5432"))),
            new AccessRules.Rule("dns", List.of("dba"), List.of(Destination.parse("10.20.0.53:53")), EnumSet.of(Protocol.UDP)),
            new AccessRules.Rule("ping", List.of("dba"), List.of(Destination.parse("10.20.0.0/24:1"),
                    Destination.parse("[2001:db8::/64]:1")), EnumSet.of(Protocol.ICMP)),
            new AccessRules.Rule("wide", List.of("dba"), List.of(Destination.parse("100.64.0.0/10:22"),
                    Destination.parse("0.0.0.0/0:443")))));
    private final ForbiddenAddresses forbidden = new ForbiddenAddresses(Set.of(OWN));
    private final DestinationResolver.Lookup lookup = host -> {
        lookups++;
        if (!host.equals("db1.admin.internal")) {
            throw new UnknownHostException(host);
        }
        return List.of(ip("10.20.7.9"));
    };
    private final DestinationResolver resolver = new DestinationResolver(forbidden, lookup);
    private final FlowPolicy flows = FlowPolicy.build(rules, forbidden,
            List.of(Network.parse("100.64.0.0/16"), Network.parse("fd00:7057::/64")), lookup);
    private final TunnelGate gate = new TunnelGate(registry, leases, resolver, AccessPolicy.of(rules, forbidden), () -> flows, () -> null);

    TunnelGateFlowTest() {
        leases.put(new Lease("laptop-1", "alice", BigInteger.ONE, NOW,
                new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "p1", NOW.plus(Duration.ofMinutes(10)), List.of())));
    }

    private GateDecision.Refusal refused(GateDecision d) {
        assertThat(d).isInstanceOf(GateDecision.Refusal.class);
        return (GateDecision.Refusal) d;
    }

    @Test
    void tcpFlowToAHostNameRulesAddress_passesWithoutDnsAtFlowTime() {
        int before = lookups;
        GateDecision.Pass p = (GateDecision.Pass) gate.openFlow(LAPTOP, TCP, ip("10.20.7.9"), 5432);
        assertThat(lookups).as("the name was resolved when the flow policy was built, not per flow").isEqualTo(before);
        assertThat(p.flow()).isEqualTo(new GateDecision.Flow(Protocol.TCP, ip("10.20.7.9"), 5432, "db"));
        assertThat(p.flow().destAddress()).isEqualTo("10.20.7.9:5432");
        assertThat(p.accessPolicy()).as("named by the rules as configured, not as resolved")
                .isEqualTo(org.postern.gateway.policy.AccessPolicyVersion.of(rules, 1));
        assertThat(p.target()).isEqualTo(new GateDecision.Target(new HostPort("10.20.7.9", 5432), ip("10.20.7.9"), "db"));
        assertThat(p.user()).isEqualTo("alice");
    }

    @Test
    void udpAndIcmp_needTheirOwnGrant() {
        assertThat(((GateDecision.Pass) gate.openFlow(LAPTOP, UDP, ip("10.20.0.53"), 53)).flow().rule()).isEqualTo("dns");
        GateDecision.Refusal udpToTcpRule = refused(gate.openFlow(LAPTOP, UDP, ip("10.20.7.9"), 5432));
        assertThat(udpToTcpRule.code()).isEqualTo("access.no_rule");
        assertThat(udpToTcpRule.destAddress()).isEqualTo("10.20.7.9:5432");
        GateDecision.Pass ping = (GateDecision.Pass) gate.openFlow(LAPTOP, ICMP, ip("10.20.0.9"), 0);
        assertThat(ping.flow()).isEqualTo(new GateDecision.Flow(Protocol.ICMP, ip("10.20.0.9"), 0, "ping"));
        assertThat(ping.flow().destAddress()).isEqualTo("10.20.0.9");
        assertThat(ping.target()).as("ICMP has no port").isNull();
        assertThat(((GateDecision.Pass) gate.openFlow(LAPTOP, ICMPV6, ip("2001:db8::7"), 0)).flow().rule()).isEqualTo("ping");
        GateDecision.Refusal pingElsewhere = refused(gate.openFlow(LAPTOP, ICMP, ip("10.20.7.9"), 0));
        assertThat(pingElsewhere.code()).isEqualTo("access.no_rule");
        assertThat(pingElsewhere.destAddress()).isEqualTo("10.20.7.9");
    }

    @Test
    void anotherIpProtocol_isBadDestination() {
        GateDecision.Refusal r = refused(gate.openFlow(LAPTOP, 47, ip("10.20.7.9"), 0));
        assertThat(r.code()).isEqualTo("access.bad_destination");
        assertThat(r.detail()).isEqualTo("IP protocol 47 to 10.20.7.9: expected tcp (6), udp (17), icmp (1) or ipv6-icmp (58)");
        assertThat(refused(gate.openFlow(LAPTOP, TCP, ip("10.20.7.9"), 0)).detail())
                .isEqualTo("tcp to 10.20.7.9: expected a port between 1 and 65535, found 0");
    }

    @Test
    void theVpnPool_isRefusedEvenWhenARuleCoversIt() {
        GateDecision.Refusal r = refused(gate.openFlow(LAPTOP, TCP, ip("100.64.0.7"), 22));
        assertThat(r.code()).isEqualTo("access.forbidden_address");
        assertThat(r.detail()).isEqualTo("groups [dba] asked for tcp 100.64.0.7:22, an address of the VPN pool"
                + " 100.64.0.0/16: devices do not reach each other");
        assertThat(refused(gate.openFlow(LAPTOP, ICMPV6, ip("fd00:7057::2"), 0)).code()).isEqualTo("access.forbidden_address");
        assertThat(((GateDecision.Pass) gate.openFlow(LAPTOP, TCP, ip("100.65.0.7"), 22)).flow().rule())
                .as("the rule's network outside the pool").isEqualTo("wide");
    }

    @Test
    void forbiddenAddresses_areRefusedAsForConnect() {
        for (String a : List.of("127.0.0.1", "169.254.169.254", "10.20.0.1", "::ffff:127.0.0.1", "224.0.0.1")) {
            assertThat(refused(gate.openFlow(LAPTOP, TCP, ip(a), 443)).code()).as(a).isEqualTo("access.forbidden_address");
        }
        assertThat(((GateDecision.Pass) gate.openFlow(LAPTOP, TCP, ip("198.51.100.7"), 443)).flow().rule()).isEqualTo("wide");
    }

    @Test
    void admission_comesFirst() {
        status = DeviceStatus.REVOKED;
        assertThat(refused(gate.openFlow(LAPTOP, TCP, ip("10.20.7.9"), 5432)).code()).isEqualTo("device.not_active");
        status = DeviceStatus.ACTIVE;
        leases.end("laptop-1");
        assertThat(refused(gate.openFlow(LAPTOP, TCP, ip("10.20.7.9"), 5432)).code()).isEqualTo("posture.no_lease");
        assertThat(refused(gate.openFlow(new Who(null, null, "x"), TCP, ip("10.20.7.9"), 5432)).code())
                .isEqualTo("tls.client_cert_required");
    }

    @Test
    void aGateWithoutTheVpnMode_refusesEveryFlow() {
        TunnelGate plain = new TunnelGate(registry, leases, resolver, AccessPolicy.of(rules, forbidden), () -> null, () -> null);
        GateDecision.Refusal r = refused(plain.openFlow(LAPTOP, TCP, ip("10.20.7.9"), 5432));
        assertThat(r.reason()).isEqualTo(Reasons.INTERNAL_ERROR);
        assertThat(plain.open(LAPTOP, "db1.admin.internal:5432")).as("CONNECT unchanged").isInstanceOf(GateDecision.Pass.class);
    }
}
