package org.postern.agent.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.DefaultEventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.vpn.capsule.AddressEntry;
import org.postern.vpn.capsule.Capsule;
import org.postern.vpn.capsule.CapsuleEncoder;
import org.postern.vpn.capsule.IpAddressRange;
import org.postern.vpn.transport.IpLink;

class VpnEngineTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private final DefaultEventLoop loop = new DefaultEventLoop();
    private final FakeTun tun = new FakeTun();
    private final RecordingHost host = new RecordingHost();
    private final List<String> said = new CopyOnWriteArrayList<>();
    private FakeLink link;
    private VpnEngine engine;

    @AfterEach
    void stop() throws Exception {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private VpnEngine engine(String transport, int maxDatagram, List<String> dns, List<String> search, VpnEngine.Options options) {
        link = new FakeLink(transport, loop, maxDatagram);
        ConnectIpAnswer answer = new ConnectIpAnswer(link, loop, dns.stream().map(VpnEngineTest::ip).toList(), search);
        engine = new VpnEngine(answer, tun, host, host, Runnable::run, said::add, () -> {}, ALLOC, Clock.systemUTC(), options);
        engine.start();
        return engine;
    }

    private VpnEngine h3(List<String> dns, List<String> search) {
        return engine(IpLink.H3, 1500, dns, search, VpnEngine.Options.of(ip("192.0.2.1"), true));
    }

    private void capsule(Capsule c) {
        link.fromGatewayStream(CapsuleEncoder.encode(c, ALLOC));
    }

    private void assignAndRoute(String... routes) {
        capsule(new Capsule.AddressAssign(List.of(new AddressEntry(0, ip("100.64.0.2"), 32), new AddressEntry(0, ip("fd00:706f::2"), 128))));
        advertise(routes);
    }

    private void advertise(String... ranges) {
        List<IpAddressRange> r = java.util.Arrays.stream(ranges).map(s -> {
            String[] p = s.split("-");
            return new IpAddressRange(ip(p[0]), ip(p[1]), 0);
        }).toList();
        capsule(new Capsule.RouteAdvertisement(r));
    }

    @Test
    void capsules_addressRoutesAndDnsApplied_thenUpLineAsTheContractSays() {
        h3(List.of("10.88.0.5"), List.of("admin.internal"));
        assignAndRoute("10.88.0.5-10.88.0.5", "10.88.0.7-10.88.0.7");
        await().atMost(Duration.ofSeconds(5)).until(() -> said.stream().anyMatch(l -> l.startsWith("VPN up")));
        assertThat(said).containsExactly("VPN up over HTTP/3 as 100.64.0.2 fd00:706f::2 (MTU 1403); routes 10.88.0.5/32, "
                + "10.88.0.7/32; DNS 10.88.0.5 (search admin.internal)");
        assertThat(host.log).containsExactly("up pt-test0 mtu 1403", "address 100.64.0.2/32", "address fd00:706f::2/128",
                "routes- []", "routes+ [10.88.0.5/32, 10.88.0.7/32]", "dns [10.88.0.5] [admin.internal]");
        assertThat(engine.status()).get().satisfies(s -> {
            assertThat(s.addresses()).containsExactly("100.64.0.2", "fd00:706f::2");
            assertThat(s.routes()).containsExactly("10.88.0.5/32", "10.88.0.7/32");
            assertThat(s.transport()).isEqualTo("h3");
            assertThat(s.mtu()).isEqualTo(1403);
        });
    }

    @Test
    void laterAdvertisement_replacesTheEarlierRoutes() {
        h3(List.of(), List.of());
        assignAndRoute("10.88.0.5-10.88.0.5", "10.88.0.7-10.88.0.7");
        advertise("10.88.0.5-10.88.0.5", "10.99.0.0-10.99.255.255");
        await().atMost(Duration.ofSeconds(5)).until(() -> said.size() == 2);
        assertThat(said.get(0)).endsWith("routes 10.88.0.5/32, 10.88.0.7/32; DNS none");
        assertThat(said.get(1)).isEqualTo("VPN routes now 10.88.0.5/32, 10.99.0.0/16");
        assertThat(host.log).containsSubsequence("routes- [10.88.0.7/32]", "routes+ [10.88.0.5/32, 10.99.0.0/16]");
    }

    @Test
    void aLargePolicysAdvertisement_longerThanAPacket_isTaken() {
        h3(List.of(), List.of());
        // 300 single-address ranges: a 3 KB capsule, twice the tunnel MTU
        String[] ranges = new String[300];
        for (int i = 0; i < ranges.length; i++) {
            String a = "10.100." + i / 100 + "." + 2 * (i % 100); // apart, so no two merge into one prefix
            ranges[i] = a + "-" + a;
        }
        assignAndRoute(ranges);
        await().atMost(Duration.ofSeconds(5)).until(() -> said.stream().anyMatch(l -> l.startsWith("VPN up")));
        assertThat(link.closedWith).as("the link stays up").isNull();
        assertThat(engine.status()).get().satisfies(st -> assertThat(st.routes()).hasSize(300));
    }

    @Test
    void routesOfAFamilyWithoutAnAddress_notInstalled() {
        h3(List.of(), List.of());
        capsule(new Capsule.AddressAssign(List.of(new AddressEntry(0, ip("100.64.0.2"), 32))));
        advertise("10.88.0.5-10.88.0.5", "fd00:88::5-fd00:88::5");
        await().atMost(Duration.ofSeconds(5)).until(() -> !said.isEmpty());
        assertThat(host.log).contains("routes+ [10.88.0.5/32]");
        assertThat(said.get(0)).isEqualTo("VPN up over HTTP/3 as 100.64.0.2 (MTU 1403); routes 10.88.0.5/32; DNS none");
    }

    @Test
    void fullTunnel_twoHalvesAndTheGatewayPinnedToItsOldRoute() {
        h3(List.of(), List.of());
        assignAndRoute("0.0.0.0-255.255.255.255");
        await().atMost(Duration.ofSeconds(5)).until(() -> !said.isEmpty());
        assertThat(host.log).containsSubsequence("routes+ [0.0.0.0/1, 128.0.0.0/1]", "pin 192.0.2.1");
        assertThat(said.get(0)).contains("routes 0.0.0.0/1, 128.0.0.0/1;");
    }

    @Test
    void h3_packetsBothWays_asDatagramsWithContextZero_otherContextsDropped() {
        h3(List.of(), List.of());
        assignAndRoute("10.88.0.5-10.88.0.5");
        byte[] ping = Packets.icmpEcho("100.64.0.2", "10.88.0.5", 56);
        PacketBatch batch = batch(ping, ping);
        engine.send(batch);
        await().atMost(Duration.ofSeconds(5)).until(() -> link.datagrams.size() == 2);
        assertThat(link.datagrams.get(0)).isEqualTo(concat(new byte[] {0}, ping));
        assertThat(link.flushes).isEqualTo(1); // one flush per batch
        assertThat(recycled).containsExactly(batch);

        byte[] reply = Packets.icmpEcho("10.88.0.5", "100.64.0.2", 56);
        link.fromGatewayDatagram(Unpooled.wrappedBuffer(concat(new byte[] {5}, reply))); // unknown context
        link.fromGatewayDatagram(Unpooled.wrappedBuffer(concat(new byte[] {0}, reply)));
        await().atMost(Duration.ofSeconds(5)).until(() -> tun.written.size() == 1);
        assertThat(tun.written.get(0)).isEqualTo(reply);
        await().atMost(Duration.ofSeconds(5)).until(() -> engine.status().orElseThrow().dropped() == 1);
        assertThat(engine.status().orElseThrow().packetsDown()).isEqualTo(1);
        assertThat(engine.status().orElseThrow().packetsUp()).isEqualTo(2);
    }

    @Test
    void h2_packetsBothWays_asDatagramCapsulesOnTheStream() {
        engine(IpLink.H2, 0, List.of(), List.of(), VpnEngine.Options.of(null, true));
        assignAndRoute("10.88.0.5-10.88.0.5");
        byte[] ping = Packets.icmpEcho("100.64.0.2", "10.88.0.5", 56);
        engine.send(batch(ping));
        await().atMost(Duration.ofSeconds(5)).until(() -> !link.stream.isEmpty());
        byte[] capsule = link.stream.get(0);
        // type 0x00, length varint (2 bytes: 1 + 84 = 85 ≥ 64), context id 0, packet
        assertThat(capsule[0]).isEqualTo((byte) 0);
        assertThat(java.util.Arrays.copyOfRange(capsule, 4, capsule.length)).isEqualTo(ping);
        assertThat(engine.mtu()).isEqualTo(1400);

        byte[] reply = Packets.icmpEcho("10.88.0.5", "100.64.0.2", 56);
        link.fromGatewayStream(Unpooled.wrappedBuffer(capsule.length == 0 ? new byte[0] : datagramCapsule(reply)));
        await().atMost(Duration.ofSeconds(5)).until(() -> tun.written.size() == 1);
        assertThat(tun.written.get(0)).isEqualTo(reply);
    }

    @Test
    void tooLargeForTheLink_answeredWithFragmentationNeededIntoTheTun() {
        engine(IpLink.H3, 600, List.of(), List.of(), VpnEngine.Options.of(null, true));
        assignAndRoute("10.88.0.5-10.88.0.5");
        assertThat(engine.mtu()).isEqualTo(599);
        await().atMost(Duration.ofSeconds(5)).until(() -> !said.isEmpty());
        byte[] big = Packets.icmpEcho("100.64.0.2", "10.88.0.5", 900);
        engine.send(batch(big));
        await().atMost(Duration.ofSeconds(5)).until(() -> tun.written.size() == 1);
        byte[] icmp = tun.written.get(0);
        assertThat(icmp[9]).as("protocol ICMP").isEqualTo((byte) 1);
        assertThat(icmp[20]).as("type 3").isEqualTo((byte) 3);
        assertThat(icmp[21]).as("code 4").isEqualTo((byte) 4);
        assertThat(((icmp[26] & 0xff) << 8) | (icmp[27] & 0xff)).as("next-hop MTU").isEqualTo(599);
        assertThat(java.util.Arrays.copyOfRange(icmp, 16, 20)).as("to the sender").isEqualTo(ip("100.64.0.2").getAddress());
        assertThat(link.datagrams).isEmpty();
    }

    @Test
    void keepalive_greaseCapsuleSent_andSilenceClosesTheLink() {
        engine(IpLink.H3, 1500, List.of(), List.of(),
                new VpnEngine.Options(null, true, Duration.ofMillis(50), Duration.ofMillis(400)));
        await().atMost(Duration.ofSeconds(5)).until(() -> !link.stream.isEmpty());
        assertThat(link.stream.get(0)).containsExactly(0x40, 0x40, 0x00);
        await().atMost(Duration.ofSeconds(5)).until(() -> link.closedWith != null);
        assertThat(link.closedWith).isEqualTo("nothing from the gateway for 0 s");
    }

    @Test
    void close_routesDnsAndAddressTakenAway_downLineSaysWhy() throws Exception {
        h3(List.of("10.88.0.5"), List.of());
        assignAndRoute("10.88.0.5-10.88.0.5", "10.88.0.7-10.88.0.7");
        await().atMost(Duration.ofSeconds(5)).until(() -> !said.isEmpty());
        host.log.clear();
        link.close("revoked");
        assertThat(engine.done().get(5, TimeUnit.SECONDS)).isEqualTo("revoked");
        assertThat(host.log).containsExactly("dns restored", "routes- [10.88.0.5/32, 10.88.0.7/32]", "down pt-test0");
        assertThat(said).last().isEqualTo("VPN down: revoked");
        assertThat(engine.status()).isEmpty();
        assertThat(VpnEngine.shown("the peer finished the stream")).isEqualTo("connection lost");
    }

    // ---- helpers -----------------------------------------------------------------------------

    private final List<PacketBatch> recycled = new CopyOnWriteArrayList<>();

    private PacketBatch batch(byte[]... packets) {
        PacketBatch b = new PacketBatch(4, 2048, recycled::add).clear();
        for (byte[] p : packets) {
            b.buffers.get(b.count++).put(p);
        }
        return b;
    }

    private static byte[] datagramCapsule(byte[] packet) {
        ByteBuf c = CapsuleEncoder.ipPacketCapsule(Unpooled.wrappedBuffer(packet), ALLOC);
        byte[] out = io.netty.buffer.ByteBufUtil.getBytes(c);
        c.release();
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static InetAddress ip(String s) {
        return org.postern.config.gateway.Network.parseAddress(s);
    }
}
