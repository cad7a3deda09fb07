package org.postern.cli.vpn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.postern.cli.TestSshd;
import org.postern.pki.testing.Proc;

/**
 * Three network namespaces this test makes and removes, and nothing outside them: a laptop, a
 * gateway and an admin network, as the VPN mode sees them.
 *
 * <pre>
 *  laptop ns              gateway ns                   admin ns
 *  192.0.2.2/24 ──veth── 192.0.2.1/24                  (the "internet" between laptop and gateway)
 *                         10.88.0.1/24 ──veth── 10.88.0.5/24, .6, .7 (admin hosts; default via .1)
 * </pre>
 *
 * The admin namespace routes everything back through the gateway, so the VPN pool needs no NAT.
 * Services started there ({@link #startAdmin}) are processes this lab tracks and ends by PID.
 * Needs root (namespaces, veth, TUN); every tool missing fails the test, never skips it.
 */
final class VpnLab implements AutoCloseable {

    static final String LAPTOP_ADDRESS = "192.0.2.2";
    static final String GATEWAY_ADDRESS = "192.0.2.1";
    static final String GATEWAY_ADMIN_SIDE = "10.88.0.1";
    /** The admin host: web, ssh, iperf3, DNS. */
    static final String ADMIN_HOST = "10.88.0.5";
    /** A second admin host no rule grants. */
    static final String OTHER_HOST = "10.88.0.6";

    final String laptop;
    final String gateway;
    final String admin;
    final Path work;
    private final List<Process> started = new ArrayList<>();

    private VpnLab(String prefix, Path work) {
        this.laptop = prefix + "-lap";
        this.gateway = prefix + "-gw";
        this.admin = prefix + "-adm";
        this.work = work;
    }

    static VpnLab create(Path work) {
        requireRootAndTools(work);
        byte[] r = new byte[3];
        new SecureRandom().nextBytes(r);
        String prefix = "pv" + HexFormat.of().formatHex(r);
        VpnLab lab = new VpnLab(prefix, work);
        try {
            lab.build(prefix);
        } catch (RuntimeException | Error e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    private void build(String prefix) {
        for (String ns : List.of(laptop, gateway, admin)) {
            ip("netns", "add", ns);
            ip("-n", ns, "link", "set", "lo", "up");
        }
        // veth names stay under 15 characters: pvXXXXXX + a, b, c, d
        ip("link", "add", prefix + "a", "netns", laptop, "type", "veth", "peer", "name", prefix + "b", "netns", gateway);
        ip("link", "add", prefix + "c", "netns", gateway, "type", "veth", "peer", "name", prefix + "d", "netns", admin);
        ip("-n", laptop, "addr", "add", LAPTOP_ADDRESS + "/24", "dev", prefix + "a");
        ip("-n", laptop, "link", "set", prefix + "a", "up");
        ip("-n", gateway, "addr", "add", GATEWAY_ADDRESS + "/24", "dev", prefix + "b");
        ip("-n", gateway, "link", "set", prefix + "b", "up");
        ip("-n", gateway, "addr", "add", GATEWAY_ADMIN_SIDE + "/24", "dev", prefix + "c");
        ip("-n", gateway, "link", "set", prefix + "c", "up");
        for (String a : List.of(ADMIN_HOST, OTHER_HOST, "10.88.0.7")) {
            ip("-n", admin, "addr", "add", a + "/24", "dev", prefix + "d");
        }
        ip("-n", admin, "link", "set", prefix + "d", "up");
        ip("-n", admin, "route", "add", "default", "via", GATEWAY_ADMIN_SIDE);
        exec(gateway, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1").ok();
        exec(gateway, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1").ok();
        // the laptop reaches the admin network only through the VPN: it has no route there of its own
        assertThat(exec(laptop, "ping", "-c", "1", "-W", "1", ADMIN_HOST).exit())
                .as("the laptop namespace must not reach the admin network without the VPN").isNotZero();
        assertThat(exec(laptop, "ping", "-c", "1", "-W", "2", GATEWAY_ADDRESS).exit())
                .as("the laptop reaches the gateway over the veth").isZero();
    }

    /** Runs {@code cmd} inside {@code ns} and waits for it (bounded). */
    Proc.Result exec(String ns, String... cmd) {
        return exec(ns, Duration.ofSeconds(60), cmd);
    }

    Proc.Result exec(String ns, Duration timeout, String... cmd) {
        List<String> all = new ArrayList<>(List.of("/usr/sbin/ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        return Proc.run(work, timeout, all.toArray(String[]::new));
    }

    /** Starts {@code cmd} inside {@code ns} in the background; output to {@code log}. Ended by {@link #close}. */
    Process start(String ns, Path log, String... cmd) {
        List<String> all = new ArrayList<>(List.of("/usr/sbin/ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        try {
            Process p = new ProcessBuilder(all).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
            started.add(p);
            return p;
        } catch (IOException e) {
            throw new AssertionError("cannot start " + all + ": " + e.getMessage(), e);
        }
    }

    /**
     * The admin network's services: dnsmasq answering {@code *.admin.internal} on
     * {@link #ADMIN_HOST}:53, a web server on :8080, an iperf3 server on :5201, OpenSSH's sshd on :22
     * (root by the key {@link #sshKey}).
     */
    void startAdmin() throws IOException {
        Path www = Files.createDirectories(work.resolve("www"));
        Files.writeString(www.resolve("index.html"), "hello from the admin network\n");
        start(admin, work.resolve("dnsmasq.log"), "/usr/sbin/dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts",
                "--listen-address=" + ADMIN_HOST, "--bind-interfaces", "--port=53", "--user=root",
                "--pid-file=" + work.resolve("dnsmasq.pid"),
                "--address=/db1.admin.internal/" + ADMIN_HOST, "--address=/db2.admin.internal/" + OTHER_HOST,
                "--log-queries");
        start(admin, work.resolve("web.log"), "/usr/bin/python3", "-m", "http.server", "--bind", ADMIN_HOST,
                "--directory", www.toString(), "8080");
        start(admin, work.resolve("iperf3.log"), "/usr/bin/iperf3", "-s", "-B", ADMIN_HOST, "-p", "5201");
        startSshd();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (exec(admin, "/usr/bin/curl", "-s", "-o", "/dev/null", "--max-time", "1", "http://" + ADMIN_HOST + ":8080/").exit() != 0
                || exec(admin, "/bin/bash", "-c", "exec 3<>/dev/tcp/" + ADMIN_HOST + "/22").exit() != 0
                || exec(admin, "/usr/bin/dig", "+short", "+time=1", "+tries=1", "@" + ADMIN_HOST, "db1.admin.internal").stdout().isBlank()) {
            assertThat(System.nanoTime()).as("admin services up within 20 s").isLessThan(deadline);
            sleep(200);
        }
    }

    /** The private key that logs in as root on the admin host's sshd. */
    Path sshKey() {
        return work.resolve("admin_client_key");
    }

    private void startSshd() throws IOException {
        TestSshd sshd = TestSshd.prepare(work, "admin_", ADMIN_HOST, 22);
        start(admin, work.resolve("sshd.log"), "/usr/sbin/sshd", "-D", "-e", "-f", sshd.config().toString());
    }

    private void ip(String... args) {
        List<String> all = new ArrayList<>(List.of("/usr/sbin/ip"));
        all.addAll(List.of(args));
        Proc.run(work, Duration.ofSeconds(20), all.toArray(String[]::new)).ok();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Ends what this lab started (by PID, newest first), then removes its namespaces and links. */
    @Override
    public void close() {
        for (Process p : started.reversed()) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String ns : List.of(laptop, gateway, admin)) {
            Proc.run(work, Duration.ofSeconds(20), "/usr/sbin/ip", "netns", "del", ns); // best effort: may not exist
        }
    }

    /** Root, and each tool the VPN tests drive; a missing one fails the test with the package to install. */
    static void requireRootAndTools(Path dir) {
        assertThat(new com.sun.security.auth.module.UnixSystem().getUid())
                .as("the VPN tests make network namespaces and TUN devices: they run as root (CI does)").isZero();
        assertThat(Path.of("/dev/net/tun")).as("/dev/net/tun (the tun kernel module)").exists();
        String[][] tools = {
                {"/usr/sbin/ip", "iproute2"}, {"/usr/bin/ping", "iputils-ping"}, {"/usr/bin/dig", "dnsutils"},
                {"/usr/sbin/dnsmasq", "dnsmasq-base"}, {"/usr/bin/curl", "curl"}, {"/usr/bin/iperf3", "iperf3"},
                {"/usr/bin/python3", "python3"}, {"/usr/bin/ssh", "openssh-client"}, {"/usr/sbin/sshd", "openssh-server"}};
        for (String[] t : tools) {
            assertThat(Path.of(t[0])).as(t[0] + " is needed by the VPN tests: apt-get install " + t[1]
                    + " (.ci/run installs it; the tests never skip without it)").isExecutable();
        }
    }
}
