package org.postern.gateway.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.gateway.vpn.Packets.datagram;
import static org.postern.gateway.vpn.Packets.udp;

import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.config.gateway.Hours;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.Protocol;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.gate.Grounds;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.gate.Who;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionFlows;
import org.postern.gateway.session.Sessions;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.testing.MutableClock;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.vpn.flow.FlowTimeouts;
import org.postern.vpn.transport.IpLink;

/**
 * Remote-work hours on VPN flows, through the real gate ({@link TunnelGate#openFlow}) and the
 * engine, on the test's clock: a flow inside its rule's window opens (its {@code flow.open} names
 * the window's end); at the end the gateway's sweep ({@code access.endSessionsAtWindowEnd}) ends it
 * with {@code outside_hours}; its next packet asks again and is refused {@code access.outside_hours}
 * with the remedy, answered with ICMP; and the VPN session ends ({@code session.end} reason
 * {@code outside_hours}) once no rule of the device's groups is open.
 */
class VpnHoursTest {

    static final ZoneId PARIS = ZoneId.of("Europe/Paris");
    /** Friday 2026-12-04 17:59:00 in Paris (UTC+1). */
    static final Instant FRIDAY_1759 = Instant.parse("2026-12-04T16:59:00Z");
    static final Instant FRIDAY_1800 = Instant.parse("2026-12-04T17:00:00Z");
    static final String DEVICE = "100.64.0.2";
    static final String GATEWAY = "100.64.0.1";
    static final String DB = "10.88.0.5";
    static final String DNS = "10.88.0.53";

    final MutableClock clock = new MutableClock(FRIDAY_1759);
    final List<AuditEvent> records = new CopyOnWriteArrayList<>();
    final AuditSink audit = new AuditSink() {
        @Override
        public void record(AuditEvent e) {
            records.add(e);
        }

        @Override
        public void close() {
        }
    };
    final SessionFlows noRelayFlows = new SessionFlows() {
        @Override
        public void closeSession(Session session, FlowEnd how) {
        }

        @Override
        public void onCloseAll(BiConsumer<String, FlowEnd> listener) {
        }
    };
    final Sessions sessions = new Sessions(audit, Runnable::run, clock, noRelayFlows, device -> null, FailMode.CLOSED, 8);
    final Session session = sessions.admit(new EmbeddedChannel(),
            new Session.Who("laptop-1", "alice", "01", "ab", "192.0.2.2:40000", "vpn"),
            new Grounds("compliant", "p1", "0123456789ab-g1"));
    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    final List<ByteBuf> egress = new ArrayList<>();
    final FakeLink link = new FakeLink(IpLink.H3);

    final Registry registry = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(),
            new Class<?>[] {Registry.class}, (proxy, method, args) -> {
                if (method.getName().equals("device")) {
                    return Optional.of(new Device("laptop-1", "alice", List.of("dba"), DeviceStatus.ACTIVE, null,
                            FRIDAY_1759, FRIDAY_1759, null, null));
                }
                throw new UnsupportedOperationException(method.getName());
            });
    final Hours office = new Hours(List.of(new Hours.Window(EnumSet.range(DayOfWeek.MONDAY, DayOfWeek.FRIDAY),
            8 * 60, 18 * 60)), Set.of());

    AccessRules rules;
    VpnEngine engine;

    /** The engine of the VPN session, its flows judged by the real gate on {@code rules}. */
    void start(AccessRules access) {
        rules = access;
        ForbiddenAddresses forbidden = new ForbiddenAddresses(Set.of());
        LeaseStore leases = new LeaseStore(clock, Ticker.systemTicker(), Scheduler.disabledScheduler(), 100,
                LeaseStore.Listener.NONE);
        leases.put(new Lease("laptop-1", "alice", BigInteger.ONE, clock.instant(),
                new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "p1", clock.instant().plus(Duration.ofHours(1)),
                        List.of())));
        FlowPolicy flows = FlowPolicy.build(rules, forbidden, List.of(Network.parse("100.64.0.0/16")), host -> List.of(),
                "v1", clock);
        TunnelGate gate = new TunnelGate(registry, leases, new DestinationResolver(forbidden, host -> List.of()),
                AccessPolicy.of(rules, forbidden, clock), () -> flows, () -> null);
        Who who = Who.device("laptop-1", "192.0.2.2:40000");
        engine = new VpnEngine(link, Runnable::run, Runnable::run, (p, dest, port) -> gate.openFlow(who, p, dest, port),
                new VpnAudit(audit, clock), session,
                new VpnEngine.Addressing((Inet4Address) InetAddress.ofLiteral(DEVICE), null,
                        (Inet4Address) InetAddress.ofLiteral(GATEWAY), null),
                egress::add, FlowTimeouts.defaults(), 1024, nanos::get, ByteBufAllocator.DEFAULT, new VpnCounters(), () -> { });
        engine.start();
    }

    /** What GatewayServer's sweep does each second with access.endSessionsAtWindowEnd, in its order. */
    int sweep() {
        Instant now = clock.instant();
        int ended = sessions.endOutsideHours(now, groups -> rules.anyOpenFor(groups, now));
        engine.closeOutsideHours(now);
        return ended;
    }

    static AccessRules.Rule officeRule(Hours hours) {
        return new AccessRules.Rule("db-office-hours", List.of("dba"), List.of(Destination.parse(DB + "/32:53")),
                EnumSet.of(Protocol.UDP), hours);
    }

    List<AuditEvent> ofType(String type) {
        return records.stream().filter(e -> e.type().equals(type)).toList();
    }

    @AfterEach
    void release() {
        egress.forEach(ByteBuf::release);
        link.release();
    }

    @Test
    void flowInsideTheWindow_endsAtItsEnd_withOutsideHours_thenItsNextPacketIsRefused_alwaysOpenFlowGoesOn() {
        AccessRules.Rule dns = new AccessRules.Rule("dns", List.of("dba"), List.of(Destination.parse(DNS + "/32:53")),
                EnumSet.of(Protocol.UDP));
        start(new AccessRules(List.of(officeRule(office), dns), PARIS, true));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 20)));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40001, DNS, 53, 20)));
        assertThat(egress).hasSize(2);
        AuditEvent open = ofType("flow.open").getFirst();
        assertThat(open.fields()).containsEntry("rule", "db-office-hours").containsEntry("via", "vpn")
                .containsEntry("windowEnd", "2026-12-04T17:00:00Z");
        assertThat(ofType("flow.open").get(1).fields()).containsEntry("rule", "dns").doesNotContainKey("windowEnd");

        clock.set(FRIDAY_1800.minusSeconds(1));
        assertThat(sweep()).isZero();
        assertThat(ofType("flow.close")).as("17:59:59: still inside").isEmpty();

        clock.set(FRIDAY_1800);
        assertThat(sweep()).as("the dns rule is always open: the session goes on").isZero();
        AuditEvent close = ofType("flow.close").getFirst();
        assertThat(ofType("flow.close")).hasSize(1);
        assertThat(close.fields()).containsEntry("how", "outside_hours").containsEntry("flow", open.fields().get("flow"))
                .containsEntry("dest", DB + ":53").containsEntry("user", "alice").containsEntry("via", "vpn");
        assertThat(session.isEnded()).isFalse();
        assertThat(session.liveFlows()).isEqualTo(1);

        // the same five-tuple again: a new flow, judged now, refused and answered with ICMP administratively prohibited
        int before = link.datagrams.size();
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 20)));
        assertThat(egress).as("nothing more left for the admin network").hasSize(2);
        AuditEvent denied = ofType("access.denied").getFirst();
        assertThat(denied.fields()).containsEntry("reason", "access.outside_hours")
                .containsEntry("remedy", "access opens Monday 08:00 Europe/Paris")
                .containsEntry("dest", DB + ":53").containsEntry("protocol", "udp").containsEntry("user", "alice");
        assertThat(link.datagrams).as("ICMP toward the device").hasSize(before + 1);
        byte[] icmp = Packets.bytes(link.datagrams.getLast());
        assertThat(icmp[1 + 9]).as("ICMP").isEqualTo((byte) 1);
        assertThat(icmp[1 + 20]).as("destination unreachable").isEqualTo((byte) 3);
        assertThat(icmp[1 + 21]).as("communication administratively prohibited").isEqualTo((byte) 13);

        // the always-open flow still passes
        link.receiver.onDatagram(datagram(udp(DEVICE, 40001, DNS, 53, 20)));
        assertThat(egress).hasSize(3);
    }

    @Test
    void sessionOnlyAWindowAllowed_endsAtTheWindowsEnd_sessionEndOutsideHoursAfterItsFlowClose() {
        start(new AccessRules(List.of(officeRule(office)), PARIS, true));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 20)));
        assertThat(session.firstWindowEnd()).isEqualTo(FRIDAY_1800);

        clock.set(FRIDAY_1800.minusSeconds(1));
        assertThat(sweep()).isZero();
        clock.set(FRIDAY_1800);
        assertThat(sweep()).isEqualTo(1);

        assertThat(session.isEnded()).isTrue();
        List<String> types = records.stream().map(AuditEvent::type).toList();
        assertThat(types).containsExactly("session.start", "flow.open", "flow.close", "session.end");
        assertThat(ofType("flow.close").getFirst().fields()).containsEntry("how", "outside_hours");
        assertThat(ofType("session.end").getFirst().fields()).containsEntry("reason", "outside_hours")
                .containsEntry("device", "laptop-1").containsEntry("via", "vpn").containsEntry("flows", 1);
        assertThat(link.closedWhy).as("the VPN link closes with its session").isEqualTo("outside_hours");
    }

    @Test
    void sessionNoWindowEverAdmitted_isLeftAlone_evenWhenEveryRuleIsClosed() {
        // a VPN link up on Saturday: its flows are refused, but the link is not torn down every second
        clock.set(Instant.parse("2026-12-05T10:00:00Z"));
        start(new AccessRules(List.of(officeRule(office)), PARIS, true));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 20)));
        assertThat(ofType("access.denied").getFirst().fields()).containsEntry("reason", "access.outside_hours");
        assertThat(sweep()).isZero();
        assertThat(session.isEnded()).isFalse();
    }
}
