package org.postern.vpn.tun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.postern.vpn.link.IpCommandLinkConfig;
import org.postern.vpn.link.LinkAddress;

/**
 * The Linux TUN device for real, as root, inside a namespace {@code pt-<random>} this test
 * creates and deletes: the kernel's own {@code ping} reaches a remote end the test plays by
 * reading echo requests from the device and writing replies.
 */
class LinuxTunTest extends NetnsTestBase {

    @Test
    void ping_ipv4AndIpv6_throughTheTunnel_allAnswered() throws Exception {
        LinuxTun tun = NetNamespace.call(ns.name, () -> LinuxTun.open("pt-ping0"));
        try {
            assertThat(tun.name()).isEqualTo("pt-ping0");
            IpCommandLinkConfig link = IpCommandLinkConfig.inNamespace(ns.name);
            link.up(tun.name(), 1400);
            link.addAddress(tun.name(), LinkAddress.parse("10.99.0.1/24"));
            link.addAddress(tun.name(), LinkAddress.parse("fd00:99::1/64"));
            assertThat(tun.mtu()).isEqualTo(1400);

            AtomicInteger replies = new AtomicInteger();
            CompletableFuture<Void> responder = CompletableFuture.runAsync(() -> answerPings(tun, replies));

            TestNetns.Result v4 = ns.exec(List.of("ping", "-c", "3", "-i", "0.2", "-W", "1", "10.99.0.2"), 20);
            assertThat(v4.output()).as("ping output: %s", v4.output()).contains("3 received");
            TestNetns.Result v6 = ns.exec(List.of("ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", "fd00:99::2"), 20);
            assertThat(v6.output()).as("ping -6 output: %s", v6.output()).contains("3 received");
            assertThat(replies.get()).isEqualTo(6);

            tun.close(); // ends the responder's read
            responder.get(5, TimeUnit.SECONDS);
        } finally {
            tun.close();
        }
        // a non-persistent TUN interface goes with its descriptor
        assertThat(ns.exec(List.of("ip", "link", "show", "dev", "pt-ping0"), 10).exitCode()).isNotZero();
    }

    /** Reads in batches of up to 8 until the device closes; answers every echo request. */
    private static void answerPings(LinuxTun tun, AtomicInteger replies) {
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            buffers.add(ByteBuffer.allocateDirect(2048));
        }
        try {
            while (true) {
                buffers.forEach(ByteBuffer::clear);
                int n = tun.read(buffers);
                for (ByteBuffer packet : buffers.subList(0, n)) {
                    packet.flip();
                    if (EchoReplies.toReply(packet)) {
                        tun.write(packet);
                        replies.incrementAndGet();
                    }
                }
            }
        } catch (ClosedChannelException closed) {
            // the test is over
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void close_wakesABlockedRead_within100ms() throws Exception {
        List<Long> micros = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            LinuxTun tun = NetNamespace.call(ns.name, () -> LinuxTun.open("pt%d"));
            assertThat(tun.name()).matches("pt\\d+");
            CompletableFuture<Long> wokeAt = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try {
                    tun.read(ByteBuffer.allocateDirect(2048));
                    wokeAt.complete(-1L);
                } catch (ClosedChannelException e) {
                    wokeAt.complete(System.nanoTime());
                } catch (Exception e) {
                    wokeAt.completeExceptionally(e);
                }
            });
            awaitBlockedInPoll(wokeAt);
            long closedAt = System.nanoTime();
            tun.close();
            long woke = wokeAt.get(1, TimeUnit.SECONDS);
            assertThat(woke).as("the read threw ClosedChannelException").isPositive();
            micros.add((woke - closedAt) / 1000);
            assertThatThrownBy(() -> tun.read(ByteBuffer.allocateDirect(64))).isInstanceOf(ClosedChannelException.class);
        }
        System.out.println("LinuxTun close() woke a blocked read after " + micros + " us (3 rounds)");
        assertThat(micros).allSatisfy(us -> assertThat(us).isLessThan(100_000));
    }

    /** Waits, bounded, until some thread of the pool sits in the native poll of a read. */
    private static void awaitBlockedInPoll(CompletableFuture<?> read) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline && !read.isDone()) {
            boolean inPoll = Thread.getAllStackTraces().values().stream().anyMatch(stack -> Arrays.stream(stack)
                    .anyMatch(f -> f.getClassName().equals(Libc.class.getName()) && f.getMethodName().equals("poll")));
            if (inPoll) {
                return;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the reader never blocked in poll (done: " + read.isDone() + ")");
    }

    @Test
    void open_sameNameTwice_saysTheNameIsInUse() throws Exception {
        try (LinuxTun first = NetNamespace.call(ns.name, () -> LinuxTun.open("pt-busy0"))) {
            assertThatThrownBy(() -> NetNamespace.call(ns.name, () -> LinuxTun.open("pt-busy0")))
                    .hasMessageStartingWith("TUN device name pt-busy0 is in use")
                    .hasMessageEndingWith("the kernel said: Device or resource busy");
            assertThat(first.name()).isEqualTo("pt-busy0");
        }
    }

    @Test
    void open_withoutCapNetAdmin_saysWhatCapabilityAndWhereTheDocsAre() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        TestNetns.Result child = ns.exec(List.of("/usr/bin/setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                "--bounding-set=-net_admin", java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath,
                OpenTunChild.class.getName(), "pt-nocap0"), 60);
        assertThat(child.output()).as("child output").contains(
                "FAILED creating TUN device pt-nocap0 needs CAP_NET_ADMIN (the agent: its systemd unit with the VPN "
                        + "drop-in, docs/packaging.md; the gateway: its unit as shipped); the kernel said: Operation not permitted");
    }

    @Test
    void open_badNames_refusedBeforeTheKernelSeesThem() {
        assertThatThrownBy(() -> LinuxTun.open("postern-tunnel-0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("TUN device name: expected at most 15 characters, found 16 in \"postern-tunnel-0\"");
        assertThatThrownBy(() -> LinuxTun.open("pt/0"))
                .hasMessage("TUN device name: expected letters, digits, '-', '_' or '.', found '/' in \"pt/0\"");
        assertThatThrownBy(() -> LinuxTun.open("pt 0"))
                .hasMessage("TUN device name: expected letters, digits, '-', '_' or '.', found character U+0020 in \"pt 0\"");
        assertThatThrownBy(() -> LinuxTun.open(""))
                .hasMessage("TUN device name: expected 1 to 15 characters, found an empty name");
        assertThatThrownBy(() -> LinuxTun.open(".."))
                .hasMessage("TUN device name: expected a name, found \"..\"");
        assertThatThrownBy(() -> LinuxTun.open("pt%s"))
                .hasMessageStartingWith("TUN device name: '%' is allowed only once, as the kernel's numbering template");
    }

    @Test
    void write_notAnIpPacket_saysSo() throws Exception {
        try (LinuxTun tun = NetNamespace.call(ns.name, () -> LinuxTun.open("pt-bad0"))) {
            ByteBuffer garbage = ByteBuffer.allocateDirect(20); // version nibble 0
            assertThatThrownBy(() -> tun.write(garbage))
                    .hasMessage("writing a 20-byte packet to TUN device pt-bad0 failed: Invalid argument "
                            + "(not an IPv4 or IPv6 packet?)");
        }
    }

    @Test
    void open_onAnotherSystem_namesItAndWhatIsMissing() {
        String os = System.getProperty("os.name");
        System.setProperty("os.name", "Windows 11");
        try {
            assertThatThrownBy(() -> LinuxTun.open("pt0"))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessage("TUN devices are built for Linux only, this is Windows 11 (Wintun on Windows and utun on "
                            + "macOS are not built yet; docs/vpn.md)");
        } finally {
            System.setProperty("os.name", os);
        }
    }

    @Test
    void read_heapBuffer_refused() throws Exception {
        try (LinuxTun tun = NetNamespace.call(ns.name, () -> LinuxTun.open("pt-heap0"))) {
            assertThatThrownBy(() -> tun.read(ByteBuffer.allocate(2048)))
                    .hasMessage("expected a direct ByteBuffer (the kernel reads and writes it in place), found a heap buffer");
        }
        assertThat(Path.of("/dev/net/tun")).exists();
    }
}
