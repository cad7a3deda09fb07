package org.postern.gateway.vpn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiConsumer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.config.gateway.Network;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Who;
import org.postern.gateway.policy.AccessPolicyVersion;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionEnd;
import org.postern.gateway.session.SessionFlows;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.Reasons;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.vpn.capsule.AddressEntry;
import org.postern.vpn.capsule.Capsule;
import org.postern.vpn.capsule.CapsuleDecoder;
import org.postern.vpn.capsule.IpAddressRange;
import org.postern.vpn.pool.AddressPool;
import org.postern.vpn.transport.IpLink;
import org.postern.vpn.tun.TunDevice;

/**
 * {@link VpnService} admission with a stand-in TUN and links: refusals answered and audited, the
 * 200's headers, the address and routes sent first, one address per device while its session lives.
 */
class VpnServiceTest {

    static final Instant NOW = Instant.parse("2026-12-01T09:00:00Z");

    final TestPki pki = TestPki.create();
    final RecordedAudit audit = new RecordedAudit();
    final List<AuditEvent> records = audit.records;
    /** What FlowRegistry.closeAll(device, how) tells the sessions (a revocation, a lease that ended). */
    BiConsumer<String, FlowEnd> closeAll;
    final SessionFlows noFlows = new SessionFlows() {
        @Override
        public void closeSession(Session session, FlowEnd how) {
        }

        @Override
        public void onCloseAll(BiConsumer<String, FlowEnd> listener) {
            closeAll = listener;
        }
    };
    final Sessions sessions = new Sessions(audit, Runnable::run, pki.clock, noFlows, device -> null, FailMode.CLOSED, 8);
    GateDecision.@Nullable Refusal admission;
    @Nullable FlowPolicy rules;

    static FlowPolicy rulesTo(String... networks) {
        List<Destination> to = java.util.Arrays.stream(networks).map(n -> Destination.parse(n + ":443")).toList();
        return FlowPolicy.build(new AccessRules(List.of(new AccessRules.Rule("web", List.of("dba"), to))),
                new ForbiddenAddresses(java.util.Set.of()), List.of(Network.parse("100.64.0.0/30")), host -> List.of());
    }

    /** The access policy version the gate's passes name, as {@code TunnelGate} would (generation 2: after a reload). */
    static final String ACCESS_VERSION = AccessPolicyVersion.of(new AccessRules(List.of(new AccessRules.Rule("web",
            List.of("dba"), List.of(Destination.parse("10.88.0.0/16:443"))))), 2);

    final VpnService.Gate gate = new VpnService.Gate() {
        @Override
        public GateDecision admit(Who who) {
            if (admission != null) {
                return admission;
            }
            return new GateDecision.Pass(new Device(who.deviceId(), "alice", List.of("dba"), DeviceStatus.ACTIVE, null, NOW,
                    NOW, null, null), new Lease(who.deviceId(), "alice", BigInteger.ONE, NOW, new PostureVerdict.Compliant(
                    PosturePolicy.Mode.ENFORCE, "p1", NOW.plus(Duration.ofMinutes(10)), List.of())), ACCESS_VERSION, null);
        }

        @Override
        public GateDecision openFlow(Who who, int ipProtocol, InetAddress dest, int port) {
            return new GateDecision.Refusal(Reasons.NO_RULE, "not in this test");
        }
    };

    /** A /30: one device address (100.64.0.2; .1 is the gateway's). */
    GatewaySettings.Vpn settings(String pool, boolean fullTunnel) {
        GatewaySettings.Vpn d = GatewaySettings.Vpn.disabled(new HostPort("127.0.0.1", 8443));
        return new GatewaySettings.Vpn(true, Network.parse(pool), null, List.of(InetAddress.ofLiteral("10.88.0.53")),
                List.of("admin.internal"), d.listen(), "pt0", false, fullTunnel, d.idleTimeouts(), 64);
    }

    final List<EmbeddedChannel> connections = new ArrayList<>();
    final List<FakeLink> links = new ArrayList<>();
    VpnService service;

    VpnService service(GatewaySettings.Vpn settings) {
        service = new VpnService(settings, AddressPool.of(settings.pool().toString(), null), new IdleTun(), null, gate,
                sessions, audit, pki.clock, Runnable::run, () -> rules);
        return service;
    }

    @AfterEach
    void close() throws IOException {
        links.forEach(FakeLink::release);
        connections.forEach(EmbeddedChannel::finishAndReleaseAll);
        if (service != null) {
            service.close();
        }
    }

    /** What the transport was told: the 200's headers, or the refusal. */
    static class Answered implements ConnectIpRequest.Answer {
        @Nullable Map<String, String> headers;
        int status;
        @Nullable String reason;
        final FakeLink link = new FakeLink(IpLink.H3);

        @Override
        public IpLink accept(Map<String, String> h) {
            headers = h;
            status = 200;
            return link;
        }

        @Override
        public void refuse(int status, String reasonCode, String message) {
            this.status = status;
            this.reason = reasonCode;
        }
    }

    final Map<String, ClientIdentity> identities = new HashMap<>();

    Answered request(String device, boolean fullTunnel) {
        Answered answer = new Answered();
        links.add(answer.link);
        EmbeddedChannel connection = new EmbeddedChannel();
        connections.add(connection);
        service.admit(new ConnectIpRequest(identities.computeIfAbsent(device,
                        d -> ClientIdentity.of(pki.enroll(d, "alice").certificate())),
                new InetSocketAddress("192.0.2.7", 40000), IpLink.H3, new ConnectIpRequestCheck.Path("*", "*"),
                "gw.example:8443", connection, fullTunnel, answer));
        connection.runPendingTasks();
        return answer;
    }

    static List<Capsule> capsules(FakeLink link) {
        List<Capsule> out = new ArrayList<>();
        try (CapsuleDecoder decoder = new CapsuleDecoder(ByteBufAllocator.DEFAULT, 65536)) {
            for (ByteBuf b : link.stream) {
                decoder.decode(b, out::add);
            }
        }
        link.stream.clear();
        return out;
    }

    @Test
    void accepted_withDnsHeaders_thenAddressAndRoutes_andSessionStartNamesTheAddress() {
        service(settings("100.64.0.0/30", true));
        Answered a = request("laptop-1", true);
        assertThat(a.status).isEqualTo(200);
        assertThat(a.headers).containsExactly(Map.entry("postern-vpn-dns", "10.88.0.53"),
                Map.entry("postern-vpn-search", "admin.internal"));
        assertThat(capsules(a.link)).containsExactly(
                new Capsule.AddressAssign(List.of(new AddressEntry(0, InetAddress.ofLiteral("100.64.0.2"), 32))),
                new Capsule.RouteAdvertisement(List.of(new IpAddressRange(InetAddress.ofLiteral("0.0.0.0"),
                        InetAddress.ofLiteral("255.255.255.255"), 0))));
        AuditEvent start = records.stream().filter(e -> e.type().equals("session.start")).findFirst().orElseThrow();
        assertThat(start.fields()).containsEntry("via", "vpn").containsEntry("address", "100.64.0.2")
                .containsEntry("transport", "h3").containsEntry("device", "laptop-1").containsEntry("source", "192.0.2.7:40000");
        // issue 15: what the device was let in on, so the access report needs no join
        assertThat(start.fields()).containsEntry("posture", "compliant").containsEntry("posturePolicy", "p1")
                .containsEntry("accessPolicy", ACCESS_VERSION);
        assertThat(ACCESS_VERSION).matches("[0-9a-f]{12}-g2");
        assertThat(service.links()).isEqualTo(1);
    }

    @Test
    void fullTunnelAsked_butNotAllowed_givesTheSplitRoutes() {
        service(settings("100.64.0.0/30", false));
        Answered a = request("laptop-1", true);
        assertThat(capsules(a.link)).element(1).isEqualTo(new Capsule.RouteAdvertisement(List.of()));
    }

    @Test
    void splitRoutes_fromTheRules_andSentAgainOnlyWhenAReloadChangesThem() {
        rules = rulesTo("10.88.0.0/24");
        service(settings("100.64.0.0/30", false));
        Answered a = request("laptop-1", false);
        assertThat(capsules(a.link)).element(1).isEqualTo(new Capsule.RouteAdvertisement(List.of(new IpAddressRange(
                InetAddress.ofLiteral("10.88.0.0"), InetAddress.ofLiteral("10.88.0.255"), 0))));
        service.readvertise();
        connections.getFirst().runPendingTasks();
        assertThat(capsules(a.link)).as("same rules, nothing sent").isEmpty();
        rules = rulesTo("10.88.0.0/24", "10.99.0.7/32");
        service.readvertise();
        connections.getFirst().runPendingTasks();
        assertThat(capsules(a.link)).containsExactly(new Capsule.RouteAdvertisement(List.of(
                new IpAddressRange(InetAddress.ofLiteral("10.88.0.0"), InetAddress.ofLiteral("10.88.0.255"), 0),
                new IpAddressRange(InetAddress.ofLiteral("10.99.0.7"), InetAddress.ofLiteral("10.99.0.7"), 0))));
    }

    @Test
    void deviceRevoked_throughCloseAll_cutsTheLinkAtOnce_withTheReason() {
        service(settings("100.64.0.0/30", false));
        Answered a = request("laptop-1", false);
        long start = System.nanoTime();
        closeAll.accept("laptop-1", FlowEnd.REVOKED);
        connections.getFirst().runPendingTasks();
        assertThat(a.link.closedWhy).isEqualTo("revoked");
        assertThat(System.nanoTime() - start).as("well within the 2 s bound").isLessThan(Duration.ofSeconds(2).toNanos());
        assertThat(records).filteredOn(e -> e.type().equals("session.end")).singleElement()
                .satisfies(e -> assertThat(e.fields()).containsEntry("reason", "revoked").containsEntry("via", "vpn"));
        assertThat(service.links()).isZero();
    }

    @Test
    void gateRefusal_answeredWithItsStatusAndCode_andAuditedViaVpn() {
        service(settings("100.64.0.0/30", false));
        admission = new GateDecision.Refusal(Reasons.NO_LEASE, "device laptop-1 has no live posture lease");
        Answered a = request("laptop-1", false);
        assertThat(a.status).isEqualTo(403);
        assertThat(a.reason).isEqualTo("posture.no_lease");
        assertThat(records).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo("access.denied");
            assertThat(e.fields()).containsEntry("via", "vpn").containsEntry("reason", "posture.no_lease")
                    .containsEntry("device", "laptop-1");
        });
    }

    @Test
    void poolExhausted_refused503_andTheAddressComesBackWhenTheSessionEnds() {
        service(settings("100.64.0.0/30", false));
        Answered first = request("laptop-1", false);
        assertThat(first.status).isEqualTo(200);
        Answered second = request("laptop-2", false);
        assertThat(second.status).isEqualTo(503);
        assertThat(second.reason).isEqualTo("vpn.pool_exhausted");
        assertThat(records).filteredOn(e -> e.type().equals("access.denied")).singleElement()
                .satisfies(e -> assertThat((String) e.fields().get("detail")).contains("100.64.0.0/30"));

        Session s = sessions.sessions().isEmpty() ? null : sessions.find(sessions.sessions().getFirst().id()).orElseThrow();
        assertThat(s).isNotNull();
        s.end(SessionEnd.REVOKED, null);
        connections.getFirst().runPendingTasks();
        assertThat(first.link.closedWhy).isEqualTo("revoked");
        assertThat(service.links()).isZero();

        Answered third = request("laptop-2", false);
        assertThat(third.status).as("the released address is handed out again").isEqualTo(200);
        assertThat(capsules(third.link).getFirst()).isEqualTo(
                new Capsule.AddressAssign(List.of(new AddressEntry(0, InetAddress.ofLiteral("100.64.0.2"), 32))));
    }

    /** A TUN nobody reads in these tests: reads wait for close, writes are dropped. */
    static final class IdleTun implements TunDevice {
        final CountDownLatch closed = new CountDownLatch(1);

        @Override
        public String name() {
            return "pt-test";
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public int read(ByteBuffer buffer) throws IOException {
            return read(List.of(buffer));
        }

        @Override
        public int read(List<ByteBuffer> buffers) throws IOException {
            try {
                closed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new ClosedChannelException();
        }

        @Override
        public void write(ByteBuffer buffer) {
            buffer.position(buffer.limit());
        }

        @Override
        public void close() {
            closed.countDown();
        }
    }
}
