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
import java.time.DayOfWeek;
import org.postern.config.gateway.Hours;
import org.postern.gateway.posture.LeaseStore;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.protocol.HostPort;

/**
 * Remote-work hours through the one admission gate: CONNECT ({@code open(who, authority)}), an SSH
 * channel ({@code open(who, host, port)}) and a VPN flow ({@code openFlow}) get the same
 * {@code access.outside_hours} and remedy outside the window, and the window's end inside it.
 */
class TunnelGateHoursTest {

    private static final java.time.ZoneId PARIS = java.time.ZoneId.of("Europe/Paris");
    private static final Who LAPTOP = Who.device("laptop-1", "192.0.2.1:5000");
    /** Friday 2026-12-04 17:59:59 in Paris (UTC+1). */
    private static final Instant FRIDAY_175959 = Instant.parse("2026-12-04T16:59:59Z");
    private static final Instant FRIDAY_1800 = Instant.parse("2026-12-04T17:00:00Z");

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private final Registry registry = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(),
            new Class<?>[] {Registry.class}, (proxy, method, args) -> {
                if (method.getName().equals("device")) {
                    return Optional.of(new Device("laptop-1", "alice", List.of("dba"), DeviceStatus.ACTIVE, null,
                            FRIDAY_1800, FRIDAY_1800, null, null));
                }
                throw new UnsupportedOperationException(method.getName());
            });
    private final Hours office = new Hours(List.of(new Hours.Window(EnumSet.range(DayOfWeek.MONDAY, DayOfWeek.FRIDAY),
            8 * 60, 18 * 60)), Set.of());
    private final AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("db", List.of("dba"),
            List.of(Destination.parse("10.20.0.0/24:5432")), EnumSet.of(Protocol.TCP, Protocol.UDP), office)), PARIS, true);
    private final ForbiddenAddresses forbidden = new ForbiddenAddresses(Set.of());
    private final DestinationResolver resolver = new DestinationResolver(forbidden, host -> List.of(ip("10.20.0.9")));

    private TunnelGate gate(Instant now) {
        Clock clock = Clock.fixed(now, ZoneOffset.UTC);
        LeaseStore leases = new LeaseStore(clock, Ticker.systemTicker(), Scheduler.disabledScheduler(), 100,
                LeaseStore.Listener.NONE);
        leases.put(new Lease("laptop-1", "alice", BigInteger.ONE, now,
                new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "p1", now.plus(Duration.ofMinutes(10)), List.of())));
        FlowPolicy flows = FlowPolicy.build(rules, forbidden, List.of(Network.parse("100.64.0.0/16")),
                host -> List.of(), "v1", clock);
        return new TunnelGate(registry, leases, resolver, AccessPolicy.of(rules, forbidden, clock), () -> flows, () -> null);
    }

    @Test
    void insideTheWindow_everyPathPasses_withTheWindowsEnd() {
        TunnelGate gate = gate(FRIDAY_175959);
        GateDecision.Pass connect = (GateDecision.Pass) gate.open(LAPTOP, "10.20.0.9:5432");
        assertThat(connect.target().until()).isEqualTo(FRIDAY_1800);
        GateDecision.Pass ssh = (GateDecision.Pass) gate.open(LAPTOP, "10.20.0.9", 5432);
        assertThat(ssh.target()).isEqualTo(new GateDecision.Target(new HostPort("10.20.0.9", 5432), ip("10.20.0.9"), "db",
                FRIDAY_1800));
        GateDecision.Pass vpn = (GateDecision.Pass) gate.openFlow(LAPTOP, 17, ip("10.20.0.9"), 5432);
        assertThat(vpn.flow()).isEqualTo(new GateDecision.Flow(Protocol.UDP, ip("10.20.0.9"), 5432, "db", FRIDAY_1800));
    }

    @Test
    void atTheWindowsEnd_everyPathIsRefusedTheSameWay_withMondaysOpening() {
        TunnelGate gate = gate(FRIDAY_1800);
        for (GateDecision d : List.of(gate.open(LAPTOP, "10.20.0.9:5432"), gate.open(LAPTOP, "10.20.0.9", 5432),
                gate.openFlow(LAPTOP, 6, ip("10.20.0.9"), 5432))) {
            assertThat(d).isInstanceOf(GateDecision.Refusal.class);
            GateDecision.Refusal r = (GateDecision.Refusal) d;
            assertThat(r.code()).isEqualTo("access.outside_hours");
            assertThat(r.httpStatus()).isEqualTo(403);
            assertThat(r.message()).isEqualTo("outside the hours of remote work");
            assertThat(r.remedy()).isEqualTo("access opens Monday 08:00 Europe/Paris");
            assertThat(r.user()).isEqualTo("alice");
            assertThat(r.destAddress()).isEqualTo("10.20.0.9:5432");
        }
    }
}
