package org.postern.gateway.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.local.LocalChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.config.HostPort;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.Protocol;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Who;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.session.FlowEnd;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionFlows;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.Reasons;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.vpn.packet.InternetChecksum;
import org.postern.vpn.transport.IpLink;

/**
 * The egress for real: the gateway's TUN opened by {@link VpnService#start} in a throw-away network
 * namespace ({@code pt-…}) with IP forwarding and the nftables masquerade, an "admin host" in a
 * second namespace behind a veth pair. A ping the device sends through the (in-memory) link
 * reaches the admin host's kernel, and its answer comes back through NAT, the TUN and the reader
 * to the link. Needs root (CAP_NET_ADMIN), {@code ip} and {@code nft}: without them it fails.
 */
class VpnEgressNetnsTest {

    static final Instant NOW = Instant.parse("2026-12-01T09:00:00Z");
    final String suffix = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
    final String gwNs = "pt-g" + suffix;
    final String adminNs = "pt-a" + suffix;
    final RecordedAudit audit = new RecordedAudit();
    final List<AuditEvent> records = audit.records;
    final TestPki pki = TestPki.create();
    final EventLoopGroup loops = new DefaultEventLoopGroup(1);
    VpnService service;
    FakeLink link;

    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    @BeforeEach
    void namespaces() throws Exception {
        run("ip", "netns", "add", gwNs);
        run("ip", "netns", "add", adminNs);
        run("ip", "-n", gwNs, "link", "set", "lo", "up");
        run("ip", "-n", adminNs, "link", "set", "lo", "up");
        run("ip", "-n", gwNs, "link", "add", "vg0", "type", "veth", "peer", "name", "va0", "netns", adminNs);
        run("ip", "-n", gwNs, "addr", "add", "10.99.0.1/24", "dev", "vg0");
        run("ip", "-n", adminNs, "addr", "add", "10.99.0.2/24", "dev", "va0");
        run("ip", "-n", gwNs, "link", "set", "vg0", "up");
        run("ip", "-n", adminNs, "link", "set", "va0", "up");
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (link != null) {
            loops.next().submit(link::release).get(5, TimeUnit.SECONDS);
        }
        if (service != null) {
            service.close();
        }
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        run("ip", "netns", "del", adminNs);
        run("ip", "netns", "del", gwNs);
    }

    GatewaySettings.Vpn settings() {
        GatewaySettings.Vpn d = GatewaySettings.Vpn.disabled(new HostPort("127.0.0.1", 8443));
        return new GatewaySettings.Vpn(true, Network.parse("100.64.0.0/16"), null, List.of(), List.of(), d.listen(),
                "pt0", true, false, d.idleTimeouts(), 64);
    }

    final VpnService.Gate gate = new VpnService.Gate() {
        @Override
        public GateDecision admit(Who who) {
            return new GateDecision.Pass(new Device(who.deviceId(), "alice", List.of("dba"), DeviceStatus.ACTIVE, null, NOW,
                    NOW, null, null), new Lease(who.deviceId(), "alice", BigInteger.ONE, NOW, new PostureVerdict.Compliant(
                    PosturePolicy.Mode.ENFORCE, "p1", NOW.plus(Duration.ofMinutes(10)), List.of())), "a1-g1", null);
        }

        @Override
        public GateDecision openFlow(Who who, int ipProtocol, InetAddress dest, int port) {
            if (ipProtocol == Packets.ICMP && dest.equals(InetAddress.ofLiteral("10.99.0.2"))) {
                GateDecision.Pass p = (GateDecision.Pass) admit(who);
                return new GateDecision.Pass(p.device(), p.lease(), p.accessPolicy(), null, new GateDecision.Flow(Protocol.ICMP, dest, 0, "ping"));
            }
            return new GateDecision.Refusal(Reasons.NO_RULE, "only ping 10.99.0.2 here");
        }
    };

    @Test
    void forwardingOff_refusesToStart_namingTheSysctl() throws Exception {
        run("ip", "netns", "exec", gwNs, "sysctl", "-qw", "net.ipv4.ip_forward=0");
        assertThatThrownBy(() -> VpnService.start(settings(), gwNs, gate, sessions(), audit, pki.clock, Runnable::run, () -> null))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("expected net.ipv4.ip_forward = 1, found 0")
                .hasMessageContaining("sysctl -w net.ipv4.ip_forward=1");
    }

    Sessions sessions() {
        SessionFlows noFlows = new SessionFlows() {
            @Override
            public void closeSession(Session session, FlowEnd how) {
            }

            @Override
            public void onCloseAll(BiConsumer<String, FlowEnd> listener) {
            }
        };
        return new Sessions(audit, Runnable::run, pki.clock, noFlows, device -> null, FailMode.CLOSED, 8);
    }

    @Test
    void pingFromTheDevice_reachesAnAdminHost_andItsAnswerComesBackThroughNat() throws Exception {
        run("ip", "netns", "exec", gwNs, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        service = VpnService.start(settings(), gwNs, gate, sessions(), audit, pki.clock, Runnable::run, () -> null);
        assertThat(run("ip", "-n", gwNs, "-4", "addr", "show", "dev", service.interfaceName()))
                .contains("inet 100.64.0.1/16").contains("mtu 1500");
        assertThat(run("ip", "netns", "exec", gwNs, "nft", "list", "table", "inet", "postern"))
                .contains("ip saddr 100.64.0.0/16 oifname != \"" + service.interfaceName() + "\" masquerade");

        Channel connection = new LocalChannel();
        loops.register(connection).sync();
        VpnServiceTest.Answered answer = new VpnServiceTest.Answered();
        link = answer.link;
        service.admit(new ConnectIpRequest(ClientIdentity.of(pki.enroll("laptop-1", "alice").certificate()),
                new InetSocketAddress("192.0.2.7", 40000), IpLink.H3, new ConnectIpRequestCheck.Path("*", "*"),
                "gw.example:8443", connection, false, answer));
        assertThat(answer.status).isEqualTo(200);

        byte[] echo = echoRequest("100.64.0.2", "10.99.0.2", 0x4242, 1);
        connection.eventLoop().submit(() -> link.receiver.onDatagram(Packets.datagram(echo))).get(5, TimeUnit.SECONDS);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        byte[] reply = null;
        while (reply == null && System.nanoTime() < deadline) {
            reply = connection.eventLoop().submit(() -> {
                for (ByteBuf d : link.datagrams) {
                    byte[] b = Packets.bytes(d);
                    if (b.length > 21 && b[1 + 9] == Packets.ICMP && b[1 + 20] == 0) { // an echo reply
                        return b;
                    }
                }
                return null;
            }).get(5, TimeUnit.SECONDS);
            if (reply == null) {
                Thread.sleep(20); // bounded poll: the answer crosses two namespaces and the TUN reader
            }
        }
        assertThat(reply).as("the admin host's echo reply, back on the link within 5 s").isNotNull();
        assertThat(java.util.Arrays.copyOfRange(reply, 1 + 12, 1 + 16)).as("from the admin host")
                .isEqualTo(Packets.addr("10.99.0.2"));
        assertThat(java.util.Arrays.copyOfRange(reply, 1 + 16, 1 + 20)).as("to the device's address, NAT undone")
                .isEqualTo(Packets.addr("100.64.0.2"));
        assertThat(records).extracting(AuditEvent::type).contains("session.start", "flow.open");
        assertThat(service.counters().packetsUp()).isEqualTo(1);
        assertThat(service.counters().packetsDown()).isEqualTo(1);
    }

    /** ICMP echo request with a valid checksum and 32 bytes of data. */
    static byte[] echoRequest(String src, String dst, int id, int seq) {
        ByteBuffer icmp = ByteBuffer.allocate(8 + 32);
        icmp.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) id).putShort((short) seq);
        for (int i = 0; i < 32; i++) {
            icmp.put((byte) i);
        }
        byte[] bytes = icmp.array();
        int sum = InternetChecksum.compute(Unpooled.wrappedBuffer(bytes), 0, bytes.length);
        bytes[2] = (byte) (sum >>> 8);
        bytes[3] = (byte) sum;
        return Packets.ipv4(Packets.ICMP, src, dst, 0, new byte[0], bytes);
    }
}
