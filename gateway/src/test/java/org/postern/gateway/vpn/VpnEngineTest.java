package org.postern.gateway.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.gateway.vpn.Packets.bytes;
import static org.postern.gateway.vpn.Packets.datagram;
import static org.postern.gateway.vpn.Packets.tcp;
import static org.postern.gateway.vpn.Packets.udp;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.config.gateway.Protocol;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Grounds;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionEnd;
import org.postern.gateway.session.SessionFlows;
import org.postern.gateway.session.Sessions;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.protocol.Reasons;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.ReasonDetail;
import org.postern.vpn.capsule.Capsule;
import org.postern.vpn.capsule.CapsuleDecoder;
import org.postern.vpn.capsule.CapsuleEncoder;
import org.postern.vpn.flow.FlowTimeouts;
import org.postern.vpn.packet.InternetChecksum;
import org.postern.vpn.packet.IpPacket;
import org.postern.vpn.packet.Reassembler;
import org.postern.vpn.transport.IpLink;

/**
 * {@link VpnEngine} with an in-memory link and egress, workers and event loop run inline: what is
 * forwarded, refused, answered with ICMP, dropped, and what the audit trail gets, in which order.
 */
class VpnEngineTest {

    static final Instant NOW = Instant.parse("2026-12-01T09:00:00Z");
    static final String DEVICE = "100.64.0.2";
    static final String GATEWAY = "100.64.0.1";
    static final String DB = "10.88.0.5";
    static final String DEVICE6 = "fd00:706f::2";
    static final String GATEWAY6 = "fd00:706f::1";
    static final String DB6 = "2001:db8::5";

    /** Audit records and egress writes in one timeline, so order between them is checked. */
    final List<String> timeline = new CopyOnWriteArrayList<>();
    final List<AuditEvent> records = new CopyOnWriteArrayList<>();
    boolean trailDown;
    final AuditSink audit = new AuditSink() {
        @Override
        public void record(AuditEvent e) {
            if (trailDown) {
                throw new AuditUnavailableException("disk full", null);
            }
            records.add(e);
            timeline.add(e.type());
        }

        @Override
        public void close() {
        }
    };
    final SessionFlows noFlows = new SessionFlows() {
        @Override
        public void closeSession(Session session, FlowEnd how) {
        }

        @Override
        public void onCloseAll(BiConsumer<String, FlowEnd> listener) {
        }
    };
    final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    final Sessions sessions = new Sessions(audit, Runnable::run, clock, noFlows, device -> null, FailMode.CLOSED, 8);
    final Session session = sessions.admit(new EmbeddedChannel(),
            new Session.Who("laptop-1", "alice", "01", "ab", "192.0.2.2:40000", "vpn"),
            new Grounds("compliant", "p1", "0123456789ab-g1"));
    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    final List<ByteBuf> egress = new ArrayList<>();
    final VpnCounters counters = new VpnCounters();
    int gateCalls;
    int gone;

    final Device device = new Device("laptop-1", "alice", List.of("dba"), DeviceStatus.ACTIVE, null, NOW, NOW, null, null);
    /** Renewed since the session started: under posture policy p2, by report-only, not compliant. */
    final Lease lease = new Lease("laptop-1", "alice", BigInteger.ONE, NOW, new PostureVerdict.NonCompliant(
            PosturePolicy.Mode.REPORT_ONLY, "p2", List.of(new ReasonDetail("patch.stale", "stale", "update")),
            NOW.plus(Duration.ofMinutes(10)), List.of()));

    /** Allows UDP and TCP to DB; everything else refused {@code access.no_rule}. */
    final VpnEngine.FlowGate gate = (protocol, dest, port) -> {
        gateCalls++;
        if ((dest.equals(InetAddress.ofLiteral(DB)) || dest.equals(InetAddress.ofLiteral(DB6)))
                && (protocol == Packets.UDP || protocol == Packets.TCP)) {
            Protocol p = protocol == Packets.UDP ? Protocol.UDP : Protocol.TCP;
            return new GateDecision.Pass(device, lease, "fedcba987654-g3", null, new GateDecision.Flow(p, dest, port, "db"));
        }
        return new GateDecision.Refusal(Reasons.NO_RULE, "groups [dba] may not reach " + dest.getHostAddress() + ":" + port,
                "alice", dest.getHostAddress() + ":" + port);
    };

    FakeLink link = new FakeLink(IpLink.H3);
    VpnEngine engine;

    VpnEngine engine(FakeLink l) {
        link = l;
        engine = new VpnEngine(l, Runnable::run, Runnable::run, gate, new VpnAudit(audit, clock), session,
                new VpnEngine.Addressing((Inet4Address) InetAddress.ofLiteral(DEVICE), null,
                        (Inet4Address) InetAddress.ofLiteral(GATEWAY), null),
                packet -> {
                    timeline.add("egress");
                    egress.add(packet);
                }, FlowTimeouts.defaults(), 1024, nanos::get, ByteBufAllocator.DEFAULT, counters, () -> gone++);
        engine.start();
        return engine;
    }

    @AfterEach
    void release() {
        egress.forEach(ByteBuf::release);
        link.release();
    }

    List<AuditEvent> ofType(String type) {
        return records.stream().filter(e -> e.type().equals(type)).toList();
    }

    @Test
    void allowedFlow_isForwardedOnlyAfterItsFlowOpenIsRecorded() {
        engine(new FakeLink(IpLink.H3));
        for (int i = 0; i < 3; i++) {
            link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 20)));
        }
        assertThat(gateCalls).as("the gate decides once per flow").isEqualTo(1);
        assertThat(egress).hasSize(3);
        assertThat(bytes(egress.get(0))).isEqualTo(udp(DEVICE, 40000, DB, 53, 20));
        assertThat(timeline).containsExactly("session.start", "flow.open", "egress", "egress", "egress");
        AuditEvent open = ofType("flow.open").getFirst();
        assertThat(open.fields()).containsEntry("via", "vpn").containsEntry("protocol", "udp")
                .containsEntry("innerSource", "100.64.0.2:40000").containsEntry("dest", "10.88.0.5:53")
                .containsEntry("destAddress", "10.88.0.5:53").containsEntry("rule", "db")
                .containsEntry("device", "laptop-1").containsEntry("user", "alice")
                .containsEntry("leaseUntil", "2026-12-01T09:10:00Z").containsKey("flow");
        // issue 15: the flow's own pass (its lease's decision, the access policy that allowed it), not the session's
        assertThat(open.fields()).containsEntry("posture", "non_compliant").containsEntry("posturePolicy", "p2")
                .containsEntry("accessPolicy", "fedcba987654-g3");
        assertThat(ofType("session.start").getFirst().fields()).containsEntry("posture", "compliant")
                .containsEntry("posturePolicy", "p1").containsEntry("accessPolicy", "0123456789ab-g1");
        assertThat(session.liveFlows()).isEqualTo(1);
    }

    @Test
    void ipv6_allowedForwarded_deniedAnsweredWithIcmpv6_spoofedAndLinkScopeDropped() {
        link = new FakeLink(IpLink.H3);
        engine = new VpnEngine(link, Runnable::run, Runnable::run, gate, new VpnAudit(audit, clock), session,
                new VpnEngine.Addressing((Inet4Address) InetAddress.ofLiteral(DEVICE),
                        (java.net.Inet6Address) InetAddress.ofLiteral(DEVICE6), (Inet4Address) InetAddress.ofLiteral(GATEWAY),
                        (java.net.Inet6Address) InetAddress.ofLiteral(GATEWAY6)),
                egress::add, FlowTimeouts.defaults(), 1024, nanos::get, ByteBufAllocator.DEFAULT, counters, () -> gone++);
        engine.start();
        link.receiver.onDatagram(datagram(Packets.udp6(DEVICE6, 40000, DB6, 53, 8)));
        assertThat(egress).hasSize(1);
        assertThat(ofType("flow.open").getFirst().fields()).containsEntry("innerSource", "[fd00:706f::2]:40000")
                .containsEntry("dest", "[2001:db8::5]:53");

        link.receiver.onDatagram(datagram(Packets.udp6(DEVICE6, 40001, "2001:db8::9", 53, 8)));
        assertThat(link.datagrams).hasSize(1);
        byte[] answer = bytes(link.datagrams.getFirst());
        byte[] ip = Arrays.copyOfRange(answer, 1, answer.length);
        assertThat(ip[0] >>> 4).isEqualTo(6);
        assertThat(ip[6]).as("ICMPv6").isEqualTo((byte) 58);
        assertThat(Arrays.copyOfRange(ip, 8, 24)).isEqualTo(Packets.addr(GATEWAY6));
        assertThat(Arrays.copyOfRange(ip, 24, 40)).isEqualTo(Packets.addr(DEVICE6));
        assertThat(ip[40]).as("destination unreachable").isEqualTo((byte) 1);
        assertThat(ip[41]).as("administratively prohibited").isEqualTo((byte) 1);

        int gateCalls = this.gateCalls;
        link.receiver.onDatagram(datagram(Packets.udp6("fd00:706f::9", 40000, DB6, 53, 8)));
        link.receiver.onDatagram(datagram(Packets.udp6(DEVICE6, 5353, "ff02::fb", 5353, 8)));
        link.receiver.onDatagram(datagram(Packets.udp6(DEVICE6, 40000, "fe80::1", 53, 8)));
        link.receiver.onDatagram(datagram(udp(DEVICE, 5353, "224.0.0.251", 5353, 8)));
        // the laptop kernel's own IPv6 chatter on the TUN (link-local and unspecified sources): not spoofing
        link.receiver.onDatagram(datagram(Packets.udp6("fe80::744d:2d32:524e:b14b", 546, "2001:db8::5", 547, 8)));
        link.receiver.onDatagram(datagram(Packets.udp6("::", 546, "2001:db8::5", 547, 8)));
        assertThat(this.gateCalls).isEqualTo(gateCalls);
        assertThat(engine.dropped(VpnDrop.SPOOFED)).isEqualTo(1);
        assertThat(engine.dropped(VpnDrop.LOCAL_SCOPE)).isEqualTo(5);
        assertThat(egress).hasSize(1);
        assertThat(ofType("access.denied")).hasSize(1);
    }

    @Test
    void flowOpenNotRecordable_refusesTheFlow_failClosed() {
        engine(new FakeLink(IpLink.H3));
        trailDown = true;
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 20)));
        assertThat(egress).as("nothing leaves without its flow.open").isEmpty();
        assertThat(session.liveFlows()).isZero();
        assertThat(link.datagrams).as("answered with ICMP administratively prohibited").hasSize(1);
    }

    @Test
    void deniedFlow_answeredWithIcmpAdminProhibited_andOneAccessDeniedForManyPackets() {
        engine(new FakeLink(IpLink.H3));
        byte[] packet = tcp(DEVICE, 40001, "10.88.0.9", 22, 0x02);
        for (int i = 0; i < 5; i++) {
            link.receiver.onDatagram(datagram(packet));
        }
        assertThat(egress).isEmpty();
        assertThat(ofType("access.denied")).hasSize(1);
        assertThat(ofType("access.denied").getFirst().fields()).containsEntry("via", "vpn").containsEntry("protocol", "tcp")
                .containsEntry("innerSource", "100.64.0.2:40001").containsEntry("dest", "10.88.0.9:22")
                .containsEntry("destAddress", "10.88.0.9:22").containsEntry("reason", "access.no_rule");
        assertThat(gateCalls).isEqualTo(1);
        assertThat(link.datagrams).as("every packet of the denied flow is answered").hasSize(5);
        byte[] answer = bytes(link.datagrams.getFirst());
        assertThat(answer[0]).as("context id 0").isZero();
        byte[] ip = Arrays.copyOfRange(answer, 1, answer.length);
        assertThat(ip[0]).isEqualTo((byte) 0x45);
        assertThat(ip[9]).as("ICMP").isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(ip, 12, 16)).isEqualTo(Packets.addr(GATEWAY));
        assertThat(Arrays.copyOfRange(ip, 16, 20)).isEqualTo(Packets.addr(DEVICE));
        assertThat(ip[20]).as("destination unreachable").isEqualTo((byte) 3);
        assertThat(ip[21]).as("communication administratively prohibited").isEqualTo((byte) 13);
        assertThat(InternetChecksum.verify(Unpooled.wrappedBuffer(ip), 0, 20)).isTrue();
        assertThat(InternetChecksum.verify(Unpooled.wrappedBuffer(ip), 20, ip.length - 20)).isTrue();
        assertThat(Arrays.copyOfRange(ip, 28, 28 + 28)).as("quotes the header and 8 bytes")
                .isEqualTo(Arrays.copyOf(packet, 28));
        assertThat(engine.dropped(VpnDrop.DENIED)).isEqualTo(5);
    }

    @Test
    void icmpErrors_areRateLimitedPerSession() {
        engine(new FakeLink(IpLink.H3));
        for (int i = 0; i < 250; i++) {
            link.receiver.onDatagram(datagram(udp(DEVICE, 41000 + i, "10.88.0.9", 9, 4)));
        }
        assertThat(link.datagrams).hasSize(VpnEngine.ICMP_PER_SECOND);
        nanos.addAndGet(1_000_000_000L);
        link.receiver.onDatagram(datagram(udp(DEVICE, 40999, "10.88.0.9", 9, 4)));
        assertThat(link.datagrams).as("a new second, a new allowance").hasSize(VpnEngine.ICMP_PER_SECOND + 1);
    }

    @Test
    void spoofedSource_droppedWithOneRecordPerBurst() {
        engine(new FakeLink(IpLink.H3));
        for (int i = 0; i < 50; i++) {
            link.receiver.onDatagram(datagram(udp("100.64.0.9", 40000, DB, 53, 4)));
        }
        assertThat(egress).isEmpty();
        assertThat(gateCalls).isZero();
        assertThat(ofType("vpn.spoofed")).hasSize(1);
        assertThat(ofType("vpn.spoofed").getFirst().fields()).containsEntry("claimedSource", "100.64.0.9")
                .containsEntry("count", 1L).containsEntry("device", "laptop-1");
        nanos.addAndGet(Duration.ofSeconds(11).toNanos());
        engine.sweep();
        assertThat(ofType("vpn.spoofed")).hasSize(2);
        assertThat(ofType("vpn.spoofed").get(1).fields()).containsEntry("count", 49L);
        assertThat(engine.dropped(VpnDrop.SPOOFED)).isEqualTo(50);
    }

    @Test
    void malformedInvalidFragmentsOptionsAndUnknownContext_droppedAndCounted() {
        engine(new FakeLink(IpLink.H3));
        byte[] good = udp(DEVICE, 40000, DB, 53, 8);
        byte[] badChecksum = good.clone();
        badChecksum[10] ^= 0x55;
        link.receiver.onDatagram(datagram(badChecksum));
        link.receiver.onDatagram(datagram(new byte[] {0x45, 0, 0}));
        // fragments the reassembler refuses at once: not the last, yet not a multiple of 8 bytes; empty
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 0x2000, new byte[0], new byte[12])));
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 0x2003, new byte[0], new byte[0])));
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 0, new byte[] {1, 1, 1, 0},
                Arrays.copyOfRange(good, 20, good.length))));
        link.receiver.onDatagram(Unpooled.buffer().writeByte(2).writeBytes(good));
        assertThat(egress).isEmpty();
        assertThat(gateCalls).isZero();
        assertThat(engine.dropped()).containsExactly(Map.entry("malformed", 2L), Map.entry("fragment", 2L),
                Map.entry("ipv4_options", 1L), Map.entry("unknown_context", 1L));
    }

    @Test
    void twoFragmentsOfAnAllowedUdpFlow_leaveAsOneWholeDatagram_evenAboveTheTunnelMtu() {
        engine(new FakeLink(IpLink.H3));
        byte[] whole = udp(DEVICE, 40000, DB, 53, 1400); // 1428 bytes: more than the tunnel MTU
        assertThat(whole.length).isGreaterThan(engine.mtu());
        byte[] payload = Arrays.copyOfRange(whole, 20, whole.length);
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 0x2000, new byte[0],
                Arrays.copyOfRange(payload, 0, 1376))));
        assertThat(egress).isEmpty();
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 1376 / 8, new byte[0],
                Arrays.copyOfRange(payload, 1376, payload.length))));
        assertThat(ofType("flow.open")).hasSize(1);
        assertThat(egress).hasSize(1);
        assertThat(bytes(egress.getFirst())).as("the datagram as the laptop's application sent it").isEqualTo(whole);
        assertThat(engine.dropped()).isEmpty();
        assertThat(gateCalls).isEqualTo(1);
    }

    @Test
    void loneFirstFragment_droppedOnTimeoutBySweep_andCounted() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 0x2000, new byte[0], new byte[16])));
        nanos.addAndGet(Duration.ofSeconds(4).toNanos());
        engine.sweep();
        assertThat(engine.dropped()).isEmpty();
        nanos.addAndGet(Duration.ofSeconds(1).toNanos());
        engine.sweep();
        assertThat(engine.dropped()).containsExactly(Map.entry("fragment_timeout", 1L));
        assertThat(counters.dropped(VpnDrop.FRAGMENT_TIMEOUT)).isEqualTo(1);
        assertThat(egress).isEmpty();
        assertThat(gateCalls).isZero();
    }

    @Test
    void overlappingFragments_dropTheDatagram() {
        engine(new FakeLink(IpLink.H3));
        byte[] payload = Arrays.copyOfRange(udp(DEVICE, 40000, DB, 53, 100), 20, 128);
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 0x2000, new byte[0],
                Arrays.copyOfRange(payload, 0, 64))));
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 56 / 8, new byte[0],
                Arrays.copyOfRange(payload, 56, payload.length))));
        assertThat(egress).isEmpty();
        assertThat(gateCalls).isZero();
        assertThat(engine.dropped()).containsExactly(Map.entry("fragment_overlap", 2L));
    }

    @Test
    void fragmentHeldWhenTheSessionEnds_countedAsTimedOut() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(Packets.ipv4(Packets.UDP, DEVICE, DB, 0x2000, new byte[0], new byte[16])));
        engine.stop("client_closed");
        assertThat(engine.dropped()).containsExactly(Map.entry("fragment_timeout", 1L));
    }

    @Test
    void returnTraffic_onlyForAllowedFlows() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        byte[] reply = udp(DB, 53, DEVICE, 40000, 12);
        engine.toDevice(List.of(Packets.withHeadroom(reply, 16), Packets.withHeadroom(udp(DB, 54, DEVICE, 40000, 12), 16),
                Packets.withHeadroom(udp("10.88.0.9", 53, DEVICE, 40000, 12), 16)));
        assertThat(link.datagrams).hasSize(1);
        byte[] sent = bytes(link.datagrams.getFirst());
        assertThat(sent[0]).isZero();
        assertThat(Arrays.copyOfRange(sent, 1, sent.length)).isEqualTo(reply);
        assertThat(engine.dropped(VpnDrop.NO_FLOW)).isEqualTo(2);
        assertThat(link.flushes).as("one flush for the batch").isGreaterThanOrEqualTo(1);
    }

    @Test
    void idleSweep_writesFlowClose() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        engine.toDevice(List.of(Packets.withHeadroom(udp(DB, 53, DEVICE, 40000, 12), 16)));
        nanos.addAndGet(Duration.ofSeconds(30).toNanos());
        link.receiver.onStream(CapsuleEncoder.encode(new Capsule.Unknown(0x40, new byte[0]), ByteBufAllocator.DEFAULT));
        engine.sweep();
        assertThat(ofType("flow.close")).isEmpty();
        nanos.addAndGet(Duration.ofSeconds(31).toNanos());
        engine.sweep();
        assertThat(ofType("flow.close")).hasSize(1);
        assertThat(ofType("flow.close").getFirst().fields()).containsEntry("how", "idle").containsEntry("packetsUp", 1L)
                .containsEntry("packetsDown", 1L).containsEntry("bytesUp", 32L).containsEntry("bytesDown", 40L)
                .containsEntry("protocol", "udp").containsEntry("via", "vpn");
        assertThat(session.liveFlows()).isZero();
        assertThat(link.closedWhy).as("a keepalive 31 s ago keeps the link").isNull();
    }

    @Test
    void quietLink_getsTheGatewaysKeepaliveEvery10s() {
        engine(new FakeLink(IpLink.H3));
        int before = link.stream.size();
        nanos.addAndGet(VpnEngine.KEEPALIVE_EVERY.toNanos() - 1);
        engine.sweep();
        assertThat(link.stream).as("not yet").hasSize(before);
        nanos.addAndGet(1);
        engine.sweep();
        assertThat(decode(link.stream.subList(before, link.stream.size())))
                .singleElement().isInstanceOfSatisfying(Capsule.Unknown.class, c -> {
                    assertThat(c.type()).isEqualTo(VpnEngine.KEEPALIVE_CAPSULE_TYPE);
                    assertThat(c.bytes()).isEmpty();
                });
    }

    @Test
    void silentLink_closedAfter45s() {
        engine(new FakeLink(IpLink.H3));
        nanos.addAndGet(VpnEngine.SILENCE_LIMIT.toNanos());
        engine.sweep();
        assertThat(link.closedWhy).isEqualTo("idle");
        assertThat(ofType("session.end").getFirst().fields()).containsEntry("reason", "idle");
        assertThat(gone).isEqualTo(1);
    }

    @Test
    void sessionEnd_closesEveryFlowWithTheReason_beforeSessionEnd() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        link.receiver.onDatagram(datagram(tcp(DEVICE, 40002, DB, 5432, 0x02)));
        link.receiver.onDatagram(datagram(new byte[] {0x45})); // one malformed, for session.end's dropped
        session.end(SessionEnd.REVOKED, null);
        assertThat(ofType("flow.close")).hasSize(2).allSatisfy(e -> assertThat(e.fields()).containsEntry("how", "revoked"));
        assertThat(timeline.subList(timeline.size() - 3, timeline.size()))
                .containsExactly("flow.close", "flow.close", "session.end");
        assertThat(ofType("session.end").getFirst().fields()).containsEntry("reason", "revoked").containsEntry("via", "vpn")
                .containsEntry("dropped", Map.of("malformed", 1L));
        assertThat(link.closedWhy).isEqualTo("revoked");
        assertThat(gone).as("the address goes back to the pool").isEqualTo(1);
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        assertThat(egress).hasSize(2);
    }

    @Test
    void linkClosedBeforeTheQueuedEnd_flowsStillCloseWithTheSessionsReason() {
        java.util.ArrayDeque<Runnable> queued = new java.util.ArrayDeque<>();
        link = new FakeLink(IpLink.H3);
        engine = new VpnEngine(link, queued::add, Runnable::run, gate, new VpnAudit(audit, clock), session,
                new VpnEngine.Addressing((Inet4Address) InetAddress.ofLiteral(DEVICE), null,
                        (Inet4Address) InetAddress.ofLiteral(GATEWAY), null),
                egress::add, FlowTimeouts.defaults(), 1024, nanos::get, ByteBufAllocator.DEFAULT, counters, () -> gone++);
        engine.start();
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        while (!queued.isEmpty()) {
            queued.poll().run(); // the gate's verdict
        }
        session.end(SessionEnd.REVOKED, null); // its end task waits on the loop...
        link.receiver.onClose("connection closed"); // ...while the revoked device's connection closes first
        while (!queued.isEmpty()) {
            queued.poll().run();
        }
        assertThat(ofType("flow.close")).singleElement().satisfies(e -> assertThat(e.fields()).containsEntry("how", "revoked"));
        assertThat(ofType("session.end").getFirst().fields()).containsEntry("reason", "revoked");
        assertThat(gone).isEqualTo(1);
    }

    @Test
    void linkClosedByTheDevice_endsTheSessionAsClientClosed() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        link.receiver.onClose("the peer finished the stream");
        assertThat(ofType("flow.close").getFirst().fields()).containsEntry("how", "client_closed");
        assertThat(ofType("session.end").getFirst().fields()).containsEntry("reason", "client_closed");
        assertThat(gone).isEqualTo(1);
    }

    @Test
    void tooBigFromTheDevice_answeredWithFragmentationNeeded_overHttp2() {
        engine(new FakeLink(IpLink.H2));
        assertThat(engine.mtu()).isEqualTo(1400);
        link.receiver.onStream(CapsuleEncoder.ipPacketCapsule(Unpooled.wrappedBuffer(udp(DEVICE, 40000, DB, 53, 1400)),
                ByteBufAllocator.DEFAULT));
        assertThat(egress).isEmpty();
        assertThat(engine.dropped(VpnDrop.TOO_BIG)).isEqualTo(1);
        List<Capsule> sent = decode(link.stream);
        assertThat(sent).hasSize(1);
        ByteBuf payload = ((Capsule.Datagram) sent.getFirst()).payload();
        byte[] ip = Arrays.copyOfRange(bytes(payload), 1, payload.readableBytes());
        payload.release();
        assertThat(ip[20]).isEqualTo((byte) 3);
        assertThat(ip[21]).as("fragmentation needed").isEqualTo((byte) 4);
        assertThat(((ip[26] & 0xFF) << 8) | (ip[27] & 0xFF)).as("next-hop MTU").isEqualTo(1400);
    }

    @Test
    void http2_capsulesCarryPacketsBothWays() {
        engine(new FakeLink(IpLink.H2));
        link.receiver.onStream(CapsuleEncoder.ipPacketCapsule(Unpooled.wrappedBuffer(udp(DEVICE, 40000, DB, 53, 4)),
                ByteBufAllocator.DEFAULT));
        assertThat(egress).hasSize(1);
        byte[] reply = udp(DB, 53, DEVICE, 40000, 12);
        engine.toDevice(List.of(Packets.withHeadroom(reply, 16)));
        List<Capsule> sent = decode(link.stream);
        assertThat(sent).hasSize(1);
        ByteBuf payload = ((Capsule.Datagram) sent.getFirst()).payload();
        assertThat(Arrays.copyOfRange(bytes(payload), 1, payload.readableBytes())).isEqualTo(reply);
        payload.release();
    }

    @Test
    void tooBigTowardTheDevice_answeredTowardTheAdminHost() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        link.maxDatagramPayload = 1200; // the path shrank after the MTU was chosen
        engine.toDevice(List.of(Packets.withHeadroom(udp(DB, 53, DEVICE, 40000, 1250), 16)));
        assertThat(link.datagrams).isEmpty();
        assertThat(egress).hasSize(2);
        byte[] icmp = bytes(egress.get(1));
        assertThat(Arrays.copyOfRange(icmp, 16, 20)).as("to the admin host").isEqualTo(Packets.addr(DB));
        assertThat(icmp[20]).isEqualTo((byte) 3);
        assertThat(icmp[21]).isEqualTo((byte) 4);
    }

    @Test
    void largerThanTheTunnel_withoutDf_isFragmentedTowardTheDevice() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        byte[] reply = udp(DB, 53, DEVICE, 40000, 3000);
        engine.toDevice(List.of(Packets.withHeadroom(reply, 16)));
        assertThat(egress).as("no ICMP toward the admin host").hasSize(1);
        assertThat(link.datagrams).hasSize(3).allSatisfy(d -> assertThat(d.readableBytes() - 1).isLessThanOrEqualTo(engine.mtu()));
        IpPacket p = new IpPacket();
        ByteBuf whole = null;
        try (Reassembler device = new Reassembler(ByteBufAllocator.DEFAULT, (r, n) -> {
            throw new AssertionError(r + ":" + n);
        })) {
            for (ByteBuf d : link.datagrams) {
                ByteBuf packet = d.retainedSlice(d.readerIndex() + 1, d.readableBytes() - 1);
                assertThat(p.parse(packet)).isTrue();
                assertThat(p.isFragment()).isTrue();
                whole = device.add(packet, p, 0);
            }
        }
        assertThat(whole).as("the device can put them together").isNotNull();
        assertThat(bytes(whole)).isEqualTo(reply);
        whole.release();
        assertThat(counters.packetsDown.sum()).isEqualTo(3);
        assertThat(engine.dropped()).isEmpty();
    }

    @Test
    void largerThanTheTunnel_withDf_answeredTowardTheAdminHost() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onDatagram(datagram(udp(DEVICE, 40000, DB, 53, 4)));
        byte[] reply = udp(DB, 53, DEVICE, 40000, 3000);
        reply[6] = 0x40; // DF
        reply[10] = 0;
        reply[11] = 0;
        int sum = InternetChecksum.compute(Unpooled.wrappedBuffer(reply), 0, 20);
        reply[10] = (byte) (sum >>> 8);
        reply[11] = (byte) sum;
        engine.toDevice(List.of(Packets.withHeadroom(reply, 16)));
        assertThat(link.datagrams).isEmpty();
        assertThat(egress).hasSize(2);
        byte[] icmp = bytes(egress.get(1));
        assertThat(icmp[20]).isEqualTo((byte) 3);
        assertThat(icmp[21]).as("fragmentation needed").isEqualTo((byte) 4);
        assertThat(engine.dropped()).containsExactly(Map.entry("too_big", 1L));
    }

    @Test
    void largerThanTheTunnel_ofNoFlow_isDroppedUnfragmented() {
        engine(new FakeLink(IpLink.H3));
        engine.toDevice(List.of(Packets.withHeadroom(udp(DB, 53, DEVICE, 40000, 3000), 16)));
        assertThat(link.datagrams).isEmpty();
        assertThat(egress).isEmpty();
        assertThat(engine.dropped()).containsExactly(Map.entry("no_flow", 1L));
    }

    @Test
    void addressRequest_answeredWithTheDevicesAddress_orRefused() {
        engine(new FakeLink(IpLink.H3));
        link.receiver.onStream(CapsuleEncoder.encode(new Capsule.AddressRequest(List.of(
                new org.postern.vpn.capsule.AddressEntry(7, InetAddress.ofLiteral("0.0.0.0"), 32),
                new org.postern.vpn.capsule.AddressEntry(8, InetAddress.ofLiteral("100.64.0.77"), 32))),
                ByteBufAllocator.DEFAULT));
        List<Capsule> sent = decode(link.stream);
        assertThat(sent).containsExactly(new Capsule.AddressAssign(List.of(
                new org.postern.vpn.capsule.AddressEntry(7, InetAddress.ofLiteral(DEVICE), 32),
                org.postern.vpn.capsule.AddressEntry.refusal(8, 4))));
    }

    /** Not a benchmark: a loose bound that never flakes, and the figure printed (docs/vpn.md). */
    @Test
    void throughput_ofTheEngineAlone_printed() {
        VpnEngine e = new VpnEngine(link, Runnable::run, Runnable::run, gate, new VpnAudit(audit, clock), session,
                new VpnEngine.Addressing((Inet4Address) InetAddress.ofLiteral(DEVICE), null,
                        (Inet4Address) InetAddress.ofLiteral(GATEWAY), null),
                ByteBuf::release, FlowTimeouts.defaults(), 1024, nanos::get, ByteBufAllocator.DEFAULT, counters, () -> { });
        e.start();
        byte[] up = udp(DEVICE, 40000, DB, 53, 1200);
        byte[] down = udp(DB, 53, DEVICE, 40000, 1200);
        ByteBuf upTemplate = Unpooled.directBuffer(1 + up.length).writeByte(0).writeBytes(up);
        ByteBuf downTemplate = Unpooled.directBuffer(16 + down.length).writerIndex(16).readerIndex(16).writeBytes(down);
        int rounds = 200_000;
        long start = System.nanoTime();
        for (int i = 0; i < rounds; i++) {
            link.receiver.onDatagram(upTemplate.retainedDuplicate());
        }
        long upNanos = System.nanoTime() - start;
        List<ByteBuf> batch = new ArrayList<>(64);
        start = System.nanoTime();
        for (int i = 0; i < rounds / 64; i++) {
            batch.clear();
            for (int j = 0; j < 64; j++) {
                batch.add(downTemplate.copy(downTemplate.readerIndex() - 16, downTemplate.readableBytes() + 16)
                        .readerIndex(16));
            }
            e.toDevice(List.copyOf(batch));
            link.release();
        }
        long downNanos = System.nanoTime() - start;
        upTemplate.release();
        downTemplate.release();
        double upRate = rounds / (upNanos / 1e9);
        double downRate = (rounds / 64 * 64) / (downNanos / 1e9);
        System.out.printf("VPN engine alone, 1228-byte packets: device->egress %.0f packets/s, TUN->link %.0f packets/s "
                + "(batches of 64, a copy per packet included)%n", upRate, downRate);
        assertThat(counters.packetsUp()).isEqualTo(rounds);
        assertThat(upRate).isGreaterThan(10_000);
        assertThat(downRate).isGreaterThan(10_000);
    }

    private static List<Capsule> decode(List<ByteBuf> stream) {
        List<Capsule> out = new ArrayList<>();
        try (CapsuleDecoder decoder = new CapsuleDecoder(ByteBufAllocator.DEFAULT, 65536)) {
            for (ByteBuf b : stream) {
                decoder.decode(b, out::add);
            }
        }
        stream.clear();
        return out;
    }
}
