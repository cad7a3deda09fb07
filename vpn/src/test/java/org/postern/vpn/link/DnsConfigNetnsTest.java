package org.postern.vpn.link;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.vpn.tun.TestNetns;

/**
 * The resolv.conf path for real, without touching the host's /etc/resolv.conf: {@code ip netns
 * exec NS} bind-mounts {@code /etc/netns/NS/resolv.conf} over {@code /etc/resolv.conf}, so a real
 * {@code dig} in the namespace reads the file DnsConfig writes, and asks a real dnsmasq there that
 * answers the internal zone.
 */
class DnsConfigNetnsTest {

    private static final String ORIGINAL = "nameserver 192.0.2.1\n"; // TEST-NET-1: nobody answers

    @TempDir
    Path state;

    private TestNetns ns;
    private Path etcDir;
    private Process dnsmasq;

    @BeforeEach
    void startResolverInNamespace() throws Exception {
        ns = TestNetns.create();
        etcDir = Files.createDirectories(Path.of("/etc/netns", ns.name));
        Files.writeString(etcDir.resolve("resolv.conf"), ORIGINAL);
        TestNetns.run(List.of("ip", "-n", ns.name, "address", "add", "10.88.0.53/32", "dev", "lo"));
        if (!Files.isExecutable(Path.of("/usr/sbin/dnsmasq"))) {
            throw new AssertionError("this test needs /usr/sbin/dnsmasq (apt-get install dnsmasq-base)");
        }
        dnsmasq = new ProcessBuilder("ip", "netns", "exec", ns.name, "/usr/sbin/dnsmasq", "--no-daemon", "--no-resolv",
                "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces", "--listen-address=10.88.0.53",
                "--address=/admin.internal/10.88.0.5", "--pid-file=", "--user=root")
                .redirectErrorStream(true).redirectOutput(state.resolve("dnsmasq.log").toFile()).start();
        // dnsmasq answers once it has bound: ask it directly until it does (bounded)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!dig("@10.88.0.53", "db.admin.internal").contains("10.88.0.5")) {
            if (System.nanoTime() > deadline || !dnsmasq.isAlive()) {
                throw new AssertionError("dnsmasq did not answer: " + Files.readString(state.resolve("dnsmasq.log")));
            }
            Thread.sleep(50);
        }
    }

    @AfterEach
    void stopAll() throws Exception {
        try {
            if (dnsmasq != null) {
                dnsmasq.destroy();
                if (!dnsmasq.waitFor(5, TimeUnit.SECONDS)) {
                    dnsmasq.destroyForcibly();
                }
            }
        } finally {
            try (Stream<Path> files = Files.walk(etcDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            ns.delete();
        }
    }

    @Test
    void apply_digInTheNamespace_usesThePushedResolverAndSearchDomain_restoreUndoesIt() throws Exception {
        Path resolvConf = etcDir.resolve("resolv.conf");
        DnsConfig dns = new DnsConfig(state.resolve("agent"), resolvConf, state.resolve("no-resolved"), "resolvectl");
        assertThat(dig("+search", "db")).as("before: the original resolver does not answer").doesNotContain("10.88.0.5");

        assertThat(dns.apply("pt-dns0", List.of(InetAddress.ofLiteral("10.88.0.53")), List.of("admin.internal")))
                .isEqualTo(DnsConfig.Method.RESOLV_CONF);
        assertThat(dig("db.admin.internal")).isEqualTo("10.88.0.5\n");
        assertThat(dig("+search", "db")).as("the search domain completes a short name").isEqualTo("10.88.0.5\n");

        dns.restore();
        assertThat(Files.readString(resolvConf)).isEqualTo(ORIGINAL);
        assertThat(dig("db.admin.internal")).doesNotContain("10.88.0.5");
    }

    private String dig(String... query) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("dig", "+short", "+time=1", "+tries=1"));
        argv.addAll(List.of(query));
        return ns.exec(argv, 15).output();
    }
}
