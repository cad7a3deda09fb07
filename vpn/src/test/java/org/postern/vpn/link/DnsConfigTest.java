package org.postern.vpn.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DnsConfig on files in a temporary directory (never the host's /etc/resolv.conf); the
 * systemd-resolved path against a stand-in {@code resolvectl} that records its arguments, since
 * no systemd-resolved runs here ({@code DnsConfigNetnsTest} proves the resolv.conf path with a
 * real resolver and {@code dig}).
 */
class DnsConfigTest {

    private static final String ORIGINAL = "nameserver 192.0.2.1\nsearch corp.example\noptions edns0\n";

    @TempDir
    Path dir;

    private DnsConfig resolvConfOnly(Path resolvConf) {
        return new DnsConfig(dir.resolve("state"), resolvConf, dir.resolve("no-resolved"), "resolvectl");
    }

    @Test
    void apply_thenRestore_putsTheOriginalBackByteForByte() throws Exception {
        Path resolvConf = Files.writeString(dir.resolve("resolv.conf"), ORIGINAL);
        DnsConfig dns = resolvConfOnly(resolvConf);

        assertThat(dns.apply("pt0", List.of(InetAddress.ofLiteral("10.88.0.53")), List.of("admin.internal")))
                .isEqualTo(DnsConfig.Method.RESOLV_CONF);
        assertThat(Files.readString(resolvConf)).isEqualTo("""
                # written by postern-agent for the VPN tunnel pt0; the original comes back when the tunnel stops
                nameserver 10.88.0.53
                nameserver 192.0.2.1
                search admin.internal corp.example
                options edns0
                """);
        Path backup = dir.resolve("state").resolve(DnsConfig.BACKUP);
        assertThat(Files.readString(backup)).isEqualTo(ORIGINAL);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(backup))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("state")))).isEqualTo("rwx------");

        dns.restore();
        assertThat(Files.readString(resolvConf)).isEqualTo(ORIGINAL);
        assertThat(backup).doesNotExist();
    }

    @Test
    void cleanupStale_afterACrash_restoresTheBackupAndSaysSo() throws Exception {
        Path resolvConf = Files.writeString(dir.resolve("resolv.conf"), ORIGINAL);
        resolvConfOnly(resolvConf).apply("pt0", List.of(InetAddress.ofLiteral("10.88.0.53")), List.of());
        // the process dies here: no restore(); the next start makes a new DnsConfig
        assertThat(resolvConfOnly(resolvConf).cleanupStale()).hasValue(
                "restored " + resolvConf + " from the backup an earlier run left in " + dir.resolve("state"));
        assertThat(Files.readString(resolvConf)).isEqualTo(ORIGINAL);
        assertThat(resolvConfOnly(resolvConf).cleanupStale()).isEmpty();
    }

    @Test
    void cleanupStale_afterSigkill_restoresTheBackup() throws Exception {
        Path resolvConf = Files.writeString(dir.resolve("resolv.conf"), ORIGINAL);
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process child = new ProcessBuilder(java, "-cp", classpath, ApplyDnsChild.class.getName(),
                dir.resolve("state").toString(), resolvConf.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            StringBuilder seen = new StringBuilder();
            for (String line = out.readLine(); !"READY".equals(line); line = out.readLine()) {
                assertThat(line).as("the child ended before READY: %s", seen).isNotNull();
                seen.append(line).append('\n'); // SLF4J's own notice, say
            }
            assertThat(Files.readString(resolvConf)).startsWith(DnsConfig.HEADER);
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no restore()
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(child.exitValue()).isEqualTo(137);
        assertThat(resolvConfOnly(resolvConf).cleanupStale()).hasValueSatisfying(
                message -> assertThat(message).startsWith("restored " + resolvConf + " from the backup"));
        assertThat(Files.readString(resolvConf)).isEqualTo(ORIGINAL);
    }

    @Test
    void restore_symlinkedResolvConf_comesBackAsTheSameSymlink() throws Exception {
        Path target = Files.writeString(dir.resolve("stub-resolv.conf"), "nameserver 127.0.0.53\n");
        Path resolvConf = Files.createSymbolicLink(dir.resolve("resolv.conf"), target);
        DnsConfig dns = resolvConfOnly(resolvConf);
        dns.apply("pt0", List.of(InetAddress.ofLiteral("fd00:88::53")), List.of("admin.internal"));
        assertThat(Files.isSymbolicLink(resolvConf)).isFalse();
        assertThat(Files.readString(resolvConf)).contains("nameserver fd00:88::53\nnameserver 127.0.0.53\n");
        assertThat(Files.readString(target)).isEqualTo("nameserver 127.0.0.53\n");

        dns.restore();
        assertThat(Files.readSymbolicLink(resolvConf)).isEqualTo(target);
    }

    @Test
    void cleanupStale_resolvConfRewrittenByAnotherProgram_isLeftAloneAndSaysSo() throws Exception {
        Path resolvConf = Files.writeString(dir.resolve("resolv.conf"), ORIGINAL);
        resolvConfOnly(resolvConf).apply("pt0", List.of(InetAddress.ofLiteral("10.88.0.53")), List.of());
        Files.writeString(resolvConf, "nameserver 198.51.100.7\n"); // e.g. NetworkManager after a Wi-Fi change
        assertThat(resolvConfOnly(resolvConf).cleanupStale()).get().asString()
                .contains("was rewritten by another program since postern-agent wrote it: left as it is");
        assertThat(Files.readString(resolvConf)).isEqualTo("nameserver 198.51.100.7\n");
    }

    @Test
    void apply_domainThatWouldInjectALine_refused() throws Exception {
        Path resolvConf = Files.writeString(dir.resolve("resolv.conf"), ORIGINAL);
        assertThatThrownBy(() -> resolvConfOnly(resolvConf).apply("pt0", List.of(InetAddress.ofLiteral("10.88.0.53")),
                List.of("admin.internal\nnameserver 203.0.113.66")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("DNS search domain for pt0: expected a DNS name like admin.internal, found "
                        + "\"admin.internal\nnameserver 203.0.113.66\"");
        assertThatThrownBy(() -> resolvConfOnly(resolvConf).apply("pt0", List.of(), List.of()))
                .hasMessage("DNS for pt0: expected at least one resolver, found none");
        assertThat(Files.readString(resolvConf)).isEqualTo(ORIGINAL);
    }

    @Test
    void apply_resolvConfNotWritable_saysWhatItNeedsAndLeavesNoBackup() {
        Path resolvConf = dir.resolve("no-such-dir").resolve("resolv.conf");
        assertThatThrownBy(() -> resolvConfOnly(resolvConf).apply("pt0", List.of(InetAddress.ofLiteral("10.88.0.53")),
                List.of()))
                .hasMessageStartingWith("setting DNS for the tunnel pt0 needs write access to " + resolvConf
                        + " when systemd-resolved does not run (docs/vpn.md \"DNS\"): java.nio.file.NoSuchFileException");
        assertThat(dir.resolve("state")).isEmptyDirectory();
    }

    @Test
    void apply_withSystemdResolved_setsThisLinkOnlyAndRevertsIt() throws Exception {
        Path runtime = Files.createDirectories(dir.resolve("run-systemd-resolve"));
        Path log = dir.resolve("resolvectl.log");
        Path resolvectl = dir.resolve("resolvectl");
        Files.writeString(resolvectl, "#!/bin/sh\necho \"$*\" >> " + log + "\n");
        Files.setPosixFilePermissions(resolvectl, PosixFilePermissions.fromString("rwx------"));
        Path resolvConf = Files.writeString(dir.resolve("resolv.conf"), ORIGINAL);
        DnsConfig dns = new DnsConfig(dir.resolve("state"), resolvConf, runtime, resolvectl.toString());

        assertThat(dns.apply("pt0", List.of(InetAddress.ofLiteral("10.88.0.53"), InetAddress.ofLiteral("fd00:88::53")),
                List.of("admin.internal", "lab.internal"))).isEqualTo(DnsConfig.Method.RESOLVED_PER_LINK);
        dns.restore();
        assertThat(Files.readAllLines(log)).containsExactly(
                "--no-pager status --no-legend",
                "dns pt0 10.88.0.53 fd00:88::53",
                "domain pt0 admin.internal lab.internal",
                "default-route pt0 false",
                "revert pt0");
        assertThat(Files.readString(resolvConf)).isEqualTo(ORIGINAL);
    }
}
