package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.protocol.posture.PatchFacts;

class AptLedgerTest {
    private static final Instant T0 = Instant.parse("2024-05-01T08:00:00Z");

    @TempDir
    Path root;
    @TempDir
    Path state;

    private Path ledgerFile() {
        return state.resolve("apt-pending.json");
    }

    private void packageState(long mtimeMillis) throws Exception {
        Path status = Files.createDirectories(root.resolve("var/lib/dpkg")).resolve("status");
        Files.writeString(status, "Package: libssl3\nStatus: install ok installed\n");
        Files.setLastModifiedTime(status, FileTime.fromMillis(mtimeMillis));
        Path list = Files.createDirectories(root.resolve("var/lib/apt/lists")).resolve("deb.debian.org_debian-security_dists_bookworm-security_InRelease");
        Files.writeString(list, "Origin: Debian\n");
        Files.setLastModifiedTime(list, FileTime.fromMillis(mtimeMillis));
    }

    @Test
    void record_keepsTheFirstSightingOfEachPackage_andDropsInstalledOnes() throws Exception {
        packageState(1_000);
        AptLedger day1 = new AptLedger(ledgerFile(), new RootFs(root), Clock.fixed(T0, ZoneOffset.UTC));
        assertThat(day1.record("k1", List.of("libssl3", "openssh-client"))).isEqualTo(T0);

        AptLedger day5 = new AptLedger(ledgerFile(), new RootFs(root), Clock.fixed(T0.plus(Duration.ofDays(4)), ZoneOffset.UTC));
        assertThat(day5.record("k2", List.of("libssl3", "openssh-client", "curl"))).isEqualTo(T0);
        // libssl3 and openssh-client installed: only curl, first seen on day 5, is left
        assertThat(day5.record("k3", List.of("curl"))).isEqualTo(T0.plus(Duration.ofDays(4)));
        assertThat(day5.record("k4", List.of())).isNull();
    }

    @Test
    void known_answersOnlyWhileThePackageStateIsUnchanged() throws Exception {
        packageState(1_000);
        AptLedger ledger = new AptLedger(ledgerFile(), new RootFs(root), Clock.fixed(T0, ZoneOffset.UTC));
        String key = ledger.stateKey();
        ledger.record(key, List.of("libssl3"));
        assertThat(ledger.known(key)).contains(new AptLedger.Known(1, T0));

        packageState(2_000); // apt update or an install touched the state
        assertThat(ledger.stateKey()).isNotEqualTo(key);
        assertThat(ledger.known(ledger.stateKey())).isEmpty();
    }

    @Test
    void damagedLedger_isIgnoredAndRebuilt() throws Exception {
        packageState(1_000);
        Files.writeString(ledgerFile(), "{not json");
        AptLedger ledger = new AptLedger(ledgerFile(), new RootFs(root), Clock.fixed(T0, ZoneOffset.UTC));
        assertThat(ledger.known("any")).isEmpty();
        assertThat(ledger.record("k", List.of("libssl3"))).isEqualTo(T0);
        assertThat(ledger.known("k")).isPresent();
    }

    @Test
    void patchCheck_secondRunWithUnchangedPackages_skipsApt() throws Exception {
        packageState(1_000);
        Path aptOut = Files.writeString(state.resolve("apt.txt"),
                "Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])\n"
                        + "Inst vim [2:9.0.1378-2] (2:9.0.1378-2+deb12u1 Debian:12.5/stable [amd64])\n");
        FakeRunner runner = new FakeRunner().exits(PatchCheck.APT_GET, 0, Files.readString(aptOut), "");
        Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
        LinuxCollector c = new LinuxCollector(root, runner, clock, LinuxCollector.Timeouts.DEFAULTS, ledgerFile());

        PatchFacts first = c.collect().patch();
        PatchFacts second = c.collect().patch();
        assertThat(first.securityPending()).isEqualTo(1);
        assertThat(first.oldestPendingSince()).isEqualTo(T0);
        assertThat(second.securityPending()).isEqualTo(1);
        assertThat(second.oldestPendingSince()).isEqualTo(T0);
        assertThat(runner.calls.stream().filter(call -> call.startsWith("apt-get"))).hasSize(1);
    }
}
