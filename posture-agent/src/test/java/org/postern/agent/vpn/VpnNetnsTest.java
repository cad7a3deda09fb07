package org.postern.agent.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.DefaultEventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.config.agent.AgentSettings;
import org.postern.vpn.capsule.AddressEntry;
import org.postern.vpn.capsule.Capsule;
import org.postern.vpn.capsule.CapsuleEncoder;
import org.postern.vpn.capsule.IpAddressRange;
import org.postern.vpn.link.IpCommandLinkConfig;
import org.postern.vpn.tun.LinuxTun;
import org.postern.vpn.tun.NetNamespace;
import org.postern.vpn.transport.IpLink;

/**
 * The laptop's VPN for real, as root, in a namespace {@code pt-<random>} this test creates and
 * deletes: a real TUN device configured from the gateway's capsules, the kernel's own {@code ping}
 * read by {@link VpnClient}'s reader and sent as HTTP datagrams on a fake link that plays the
 * gateway by answering each echo request; the answers written back reach {@code ping}.
 */
class VpnNetnsTest {
    private String ns;
    private final DefaultEventLoop loop = new DefaultEventLoop();

    @BeforeEach
    void createNamespace() throws Exception {
        String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?");
        assertThat(uid.split("\\s+")[1]).as("this test creates a network namespace and a TUN device: run it as root (%s)", uid)
                .isEqualTo("0");
        assertThat(Path.of("/dev/net/tun")).as("no /dev/net/tun: load the tun module").exists();
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        ns = "pt-" + HexFormat.of().formatHex(random);
        run(120, "ip", "netns", "add", ns);
        run(20, "ip", "-n", ns, "link", "set", "lo", "up");
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        run(20, "ip", "netns", "delete", ns);
    }

    @Test
    void ping_throughTheTun_reachesTheLinkAsDatagrams_andTheAnswersComeBack() throws Exception {
        LinuxTun tun = NetNamespace.call(ns, () -> LinuxTun.open("pt-vpn0"));
        RecordingHost dns = new RecordingHost();
        List<String> said = new CopyOnWriteArrayList<>();
        AgentSettings.Vpn settings = new AgentSettings.Vpn(true, false, AgentSettings.Vpn.Transport.AUTO, "pt-vpn0", true);
        VpnClient client = new VpnClient(tun, IpCommandLinkConfig.inNamespace(ns), dns, settings, said::add, Clock.systemUTC());
        FakeLink link = new FakeLink(IpLink.H3, loop, 1500);
        List<byte[]> requests = new CopyOnWriteArrayList<>();
        link.gateway = payload -> {
            byte[] packet = Arrays.copyOfRange(payload, 1, payload.length);
            if (payload[0] == 0 && Packets.isEchoRequest(packet)) {
                requests.add(packet);
                byte[] reply = Packets.echoReply(packet);
                byte[] out = new byte[reply.length + 1];
                System.arraycopy(reply, 0, out, 1, reply.length);
                link.fromGatewayDatagram(Unpooled.wrappedBuffer(out));
            }
        };
        try {
            client.start();
            client.attach(new ConnectIpAnswer(link, loop, List.of(), List.of()), null);
            capsule(link, new Capsule.AddressAssign(List.of(new AddressEntry(0, VpnEngineTest.ip("100.64.0.2"), 32))));
            capsule(link, new Capsule.RouteAdvertisement(List.of(new IpAddressRange(VpnEngineTest.ip("10.88.0.5"),
                    VpnEngineTest.ip("10.88.0.5"), 0))));
            await().atMost(Duration.ofSeconds(10)).until(() -> !said.isEmpty());
            assertThat(said).containsExactly("VPN up over HTTP/3 as 100.64.0.2 (MTU 1403); routes 10.88.0.5/32; DNS none");
            assertThat(run(20, "ip", "-n", ns, "route", "show", "dev", "pt-vpn0")).contains("10.88.0.5");

            String ping = run(30, "ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.88.0.5");
            assertThat(ping).contains("3 received");
            assertThat(requests).hasSize(3).allSatisfy(p ->
                    assertThat(Arrays.copyOfRange(p, 12, 16)).as("source").isEqualTo(VpnEngineTest.ip("100.64.0.2").getAddress()));
            assertThat(client.status()).get().satisfies(s -> {
                assertThat(s.packetsUp()).isGreaterThanOrEqualTo(3);
                assertThat(s.packetsDown()).isEqualTo(3);
            });
        } finally {
            client.close();
        }
        assertThat(said).last().isEqualTo("VPN down: agent stopping");
        assertThat(dns.log).contains("dns restored", "down pt-vpn0");
        // the TUN device went with the client
        assertThat(runAllowingFailure(10, "ip", "-n", ns, "link", "show", "dev", "pt-vpn0").exitCode).isNotZero();
    }

    private static void capsule(FakeLink link, Capsule c) {
        link.fromGatewayStream(CapsuleEncoder.encode(c, UnpooledByteBufAllocator.DEFAULT));
    }

    private record Result(int exitCode, String output) {}

    private static String run(long timeoutSeconds, String... argv) throws Exception {
        Result r = runAllowingFailure(timeoutSeconds, argv);
        assertThat(r.exitCode).as("%s exited %s: %s", String.join(" ", argv), r.exitCode, r.output).isZero();
        return r.output;
    }

    private static Result runAllowingFailure(long timeoutSeconds, String... argv) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(argv))).redirectErrorStream(true).start();
        p.getOutputStream().close();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", argv) + " did not finish within " + timeoutSeconds + " s");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
