package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException.Kind;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

class LinuxCollectorTest {
    /** Logs are in local time; Berlin is +01:00 until 2024-03-31, +02:00 after. */
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2024-05-15T12:00:00Z"), ZoneId.of("Europe/Berlin"));
    private static final List<String> LSBLK = List.of("lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,MOUNTPOINT,PKNAME");
    private static final List<String> UNAME = List.of("uname", "-r");

    @TempDir
    Path tmp;

    private static PostureClaims.Facts collect(Path root, CommandRunner runner) {
        return new LinuxCollector(root, runner, CLOCK, LinuxCollector.Timeouts.DEFAULTS).collect();
    }

    private static FakeRunner apt(String fixture) {
        return new FakeRunner().prints(PatchCheck.APT_GET, fixture, "commands/apt-get-dist-upgrade.txt");
    }

    @Test
    void collect_luks2Laptop_encryptedDebianWithSecurityPending() {
        FakeRunner runner = apt("luks2-laptop").prints(LSBLK, "luks2-laptop", "commands/lsblk.txt");
        PostureClaims.Facts f = collect(Fixtures.root("luks2-laptop"), runner);

        assertThat(f.errors()).isEmpty();
        assertThat(f.collector()).isEqualTo(PostureClaims.NATIVE);
        assertThat(f.os()).isEqualTo(new OsFacts("linux", "debian", "12", null, "6.1.0-18-amd64"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("/ on /dev/mapper/nvme0n1p3_crypt", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, 100));
        // history.log's 2024-03-10 09:15:47 (CET) beats the rotated .1.gz's 2024-02-01
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-03-10T08:15:47Z"), 3, null, true));
        assertThat(runner.calls).doesNotContain("uname -r"); // kernel read from /proc/sys/kernel/osrelease
    }

    @Test
    void collect_lvmOnLuks_encryptedUbuntuKernelFromUname() {
        FakeRunner runner = apt("lvm-on-luks").prints(LSBLK, "lvm-on-luks", "commands/lsblk.txt")
                .prints(UNAME, "lvm-on-luks", "commands/uname-r.txt");
        PostureClaims.Facts f = collect(Fixtures.root("lvm-on-luks"), runner);

        assertThat(f.errors()).isEmpty();
        assertThat(f.os()).isEqualTo(new OsFacts("linux", "ubuntu", "22.04", null, "6.5.0-26-generic"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("/ on /dev/mapper/ubuntu--vg-ubuntu--lv", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-04-02T04:25:19Z"), 2, null, false));
    }

    @Test
    void collect_luksOnLvmFedora_usesDnfWhenAptIsMissing() {
        FakeRunner runner = new FakeRunner().prints(LSBLK, "luks-on-lvm", "commands/lsblk.txt")
                .prints(PatchCheck.DNF_SECURITY, "luks-on-lvm", "commands/dnf-updateinfo-list-security.txt")
                .prints(PatchCheck.DNF_HISTORY, "luks-on-lvm", "commands/dnf-history-list.txt")
                .exits(PatchCheck.DNF_NEEDS_RESTARTING, 1, Fixtures.text("luks-on-lvm", "commands/dnf-needs-restarting.txt"), "");
        PostureClaims.Facts f = collect(Fixtures.root("luks-on-lvm"), runner);

        assertThat(f.errors()).isEmpty();
        assertThat(f.os()).isEqualTo(new OsFacts("linux", "fedora", "39", null, "6.7.9-200.fc39.x86_64"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("/ on /dev/mapper/luks-root", true, "LUKS1", true, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-03-09T07:05:00Z"), 3, null, true));
    }

    @Test
    void collect_dnf5AdvisoryList_givesOldestPendingDate() {
        FakeRunner runner = new FakeRunner()
                .prints(PatchCheck.DNF_SECURITY, "luks-on-lvm", "commands/dnf5-advisory-list.txt")
                .prints(PatchCheck.DNF_HISTORY, "luks-on-lvm", "commands/dnf-history-list.txt")
                .exits(PatchCheck.DNF_NEEDS_RESTARTING, 0, "", "");
        PatchFacts p = collect(Fixtures.root("luks-on-lvm"), runner).patch();
        assertThat(p.securityPending()).isEqualTo(2);
        assertThat(p.oldestPendingSince()).isEqualTo(Instant.parse("2024-04-19T01:02:12Z"));
        assertThat(p.rebootRequired()).isFalse();
    }

    @Test
    void collect_plainExt4_notEncryptedOsReleaseFromUsrLib() {
        PostureClaims.Facts f = collect(Fixtures.root("plain-ext4"), apt("plain-ext4").prints(LSBLK, "plain-ext4", "commands/lsblk.txt"));

        assertThat(f.errors()).isEmpty();
        assertThat(f.os()).isEqualTo(new OsFacts("linux", "debian", "12", null, "6.1.0-21-amd64"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("/ on /dev/sda2", false, null, false, DiskFacts.FULLY_DECRYPTED, 0));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-05-06T10:00:09Z"), 0, null, false));
    }

    @Test
    void collect_verityRoot_isNotEncryption() {
        PostureClaims.Facts f = collect(Fixtures.root("verity-root"), new FakeRunner().prints(LSBLK, "verity-root", "commands/lsblk.txt"));

        assertThat(f.disk()).isEqualTo(new DiskFacts("/ on /dev/mapper/root", false, null, false, DiskFacts.FULLY_DECRYPTED, 0));
        assertThat(f.errors()).containsExactly(new CheckError("patch", "apt-get not found and dnf not found"));
        assertThat(f.patch()).isEqualTo(new PatchFacts(null, null, null, null));
    }

    @Test
    void collect_containerOverlay_diskUnknownWithReason() {
        PostureClaims.Facts f = collect(Fixtures.root("container-overlay"), new FakeRunner());

        assertThat(f.disk()).isEqualTo(new DiskFacts("/", null, null, null, null, null));
        assertThat(f.errors()).contains(new CheckError("disk", "/ is on a file system of type overlay (source \"overlay\", device 0:52)"
                + " with no block device behind it, as in a container; the encryption of the disk that holds it cannot be seen from here"));
    }

    @Test
    void collect_aptTimesOut_pendingUnknownHistoryStillRead() {
        FakeRunner runner = new FakeRunner().fails(PatchCheck.APT_GET, Kind.TIMEOUT, "ignored");
        PostureClaims.Facts f = collect(Fixtures.root("plain-ext4"), runner);

        assertThat(f.errors()).containsExactly(new CheckError("patch", "apt-get -s -o Debug::NoLocking=1 dist-upgrade timed out after 20s"));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-05-06T10:00:09Z"), null, null, false));
    }

    @Test
    void collect_aptExitsNonZero_saysExitAndStderr() {
        FakeRunner runner = new FakeRunner().exits(PatchCheck.APT_GET, 100, "Reading package lists...\n",
                "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.\n");
        PostureClaims.Facts f = collect(Fixtures.root("plain-ext4"), runner);

        assertThat(f.errors()).containsExactly(new CheckError("patch", "apt-get -s -o Debug::NoLocking=1 dist-upgrade exited 100:"
                + " E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem."));
        assertThat(f.patch().securityPending()).isNull();
    }

    @Test
    void collect_dnfHistoryFails_lastUpdateUnknown() {
        FakeRunner runner = new FakeRunner().exits(PatchCheck.DNF_SECURITY, 0, "", "")
                .fails(PatchCheck.DNF_HISTORY, Kind.TIMEOUT, "ignored")
                .exits(PatchCheck.DNF_NEEDS_RESTARTING, 0, "", "");
        PostureClaims.Facts f = collect(Fixtures.root("luks-on-lvm"), runner);
        assertThat(f.patch()).isEqualTo(new PatchFacts(null, 0, null, false));
        assertThat(f.errors()).containsExactly(new CheckError("patch", "dnf -C -q history list timed out after 20s"));
    }

    @Test
    void collect_lsblkShowsNoCrypt_contradictionIsUnknown() {
        FakeRunner runner = apt("luks2-laptop").prints(LSBLK, "plain-ext4", "commands/lsblk.txt");
        PostureClaims.Facts f = collect(Fixtures.root("luks2-laptop"), runner);

        assertThat(f.disk().encrypted()).isNull();
        assertThat(f.errors()).containsExactly(new CheckError("disk", "sysfs shows LUKS2 on [dm-0] under / but lsblk shows"
                + " no crypt device on the way to / (sda disk -> sda2 part)"));
    }

    @Test
    void collect_lsblkMissing_sysfsVerdictStands() {
        PostureClaims.Facts f = collect(Fixtures.root("luks2-laptop"), apt("luks2-laptop"));
        assertThat(f.disk().encrypted()).isTrue();
        assertThat(f.errors()).isEmpty();
    }

    @Test
    void collect_emptyRoot_everyCheckSaysWhy() {
        PostureClaims.Facts f = collect(tmp, new FakeRunner());

        assertThat(f.os()).isEqualTo(new OsFacts("linux", null, null, null, null));
        assertThat(f.errors()).containsExactly(
                new CheckError("os", "neither /etc/os-release nor /usr/lib/os-release exists"),
                new CheckError("os", "/proc/sys/kernel/osrelease is unreadable and uname not found"),
                new CheckError("disk", "/proc/self/mountinfo does not exist (is /proc mounted?)"),
                new CheckError("patch", "apt-get not found and dnf not found"));
    }

    @Test
    void collect_mountinfoWithoutRoot_saysSo() {
        new Fixtures.Tree(tmp).file("proc/self/mountinfo", "22 28 0:21 / /sys rw,relatime - sysfs sysfs rw\n");
        assertThat(collect(tmp, new FakeRunner()).errors())
                .contains(new CheckError("disk", "/proc/self/mountinfo has no entry for /"));
    }

    @Test
    void collect_deviceNumberNotInSysfs_saysWhich() {
        new Fixtures.Tree(tmp).file("proc/self/mountinfo", "28 1 8:2 / / rw - ext4 /dev/sda2 rw\n");
        assertThat(collect(tmp, new FakeRunner()).errors())
                .contains(new CheckError("disk", "/ is ext4 on device 8:2 (/dev/sda2) but /sys/dev/block/8:2 does not name a block device"));
    }

    @Test
    void collect_osReleaseWithoutVersion_rollingReleaseIsAnError() {
        new Fixtures.Tree(tmp).file("etc/os-release", "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n")
                .file("proc/sys/kernel/osrelease", "6.8.1-arch1-1\n");
        PostureClaims.Facts f = collect(tmp, new FakeRunner());
        assertThat(f.os()).isEqualTo(new OsFacts("linux", "arch", null, null, "6.8.1-arch1-1"));
        assertThat(f.errors()).contains(new CheckError("os", "os-release has no VERSION_ID (ID=arch, PRETTY_NAME=Arch Linux);"
                + " a rolling release cannot be compared to a minimum version"));
    }

    @Test
    void collect_unameTimesOut_saysAfterHowLong() {
        FakeRunner runner = new FakeRunner().fails(UNAME, Kind.TIMEOUT, "ignored");
        new Fixtures.Tree(tmp).file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
        assertThat(collect(tmp, runner).errors())
                .contains(new CheckError("os", "/proc/sys/kernel/osrelease is unreadable and uname -r timed out after 5s"));
    }

    @Test
    void collect_upgradeStampNewerThanHistory_isTheLastUpdate() throws Exception {
        new Fixtures.Tree(tmp).copyOf("plain-ext4").file("var/lib/apt/periodic/upgrade-stamp", "");
        Files.setLastModifiedTime(tmp.resolve("var/lib/apt/periodic/upgrade-stamp"), FileTime.from(Instant.parse("2024-05-14T03:00:00Z")));
        assertThat(collect(tmp, apt("plain-ext4")).patch().lastUpdate()).isEqualTo(Instant.parse("2024-05-14T03:00:00Z"));
    }

    @Test
    void collect_onlyUpdateSuccessStamp_isNotAnUpdate() throws Exception {
        new Fixtures.Tree(tmp).copyOf("plain-ext4").file("var/lib/apt/periodic/update-success-stamp", "");
        Files.delete(tmp.resolve("var/log/apt/history.log"));
        PostureClaims.Facts f = collect(tmp, apt("plain-ext4"));
        assertThat(f.patch().lastUpdate()).isNull();
        assertThat(f.errors()).containsExactly(new CheckError("patch",
                "no completed upgrade in /var/log/apt/history.log* and no /var/lib/apt/periodic/upgrade-stamp"));
    }

    @Test
    void collect_btrfsOnLuks_followsTheMountSource() {
        // btrfs gives / an anonymous device number (0:33); the source names /dev/mapper/luks-…
        new Fixtures.Tree(tmp)
                .file("proc/self/mountinfo", "28 1 0:33 /root / rw,relatime shared:1 - btrfs /dev/mapper/luks-0b1c rw,seclabel,compress=zstd:1,ssd,subvolid=257,subvol=/root\n")
                .dm("dm-0", "CRYPT-LUKS2-0b1c2d3e4f5061728394a5b6c7d8e9f0-luks-0b1c", "luks-0b1c", "nvme0n1p3");
        PostureClaims.Facts f = collect(tmp, new FakeRunner());
        assertThat(f.disk()).isEqualTo(new DiskFacts("/ on /dev/mapper/luks-0b1c", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void collect_btrfsAcrossLuksAndClearDevice_isNotEncrypted() {
        new Fixtures.Tree(tmp)
                .file("proc/self/mountinfo", "28 1 0:33 /root / rw - btrfs /dev/mapper/luks-a rw,subvol=/root\n")
                .dm("dm-0", "CRYPT-LUKS2-aa-luks-a", "luks-a", "nvme0n1p3")
                .file("sys/fs/btrfs/5b6c7d8e-0000-4000-8000-000000000001/devices/dm-0", "")
                .file("sys/fs/btrfs/5b6c7d8e-0000-4000-8000-000000000001/devices/sdb1", "");
        assertThat(collect(tmp, new FakeRunner()).disk().encrypted()).isFalse();
    }

    @Test
    void collect_eachCommand_boundedByItsTimeout() {
        FakeRunner runner = apt("luks2-laptop").prints(LSBLK, "luks2-laptop", "commands/lsblk.txt");
        new LinuxCollector(Fixtures.root("luks2-laptop"), runner, CLOCK,
                new LinuxCollector.Timeouts(Duration.ofSeconds(2), Duration.ofSeconds(30))).collect();
        assertThat(runner.calls).containsExactly(String.join(" ", LSBLK), String.join(" ", PatchCheck.APT_GET));
        assertThat(runner.timeouts).containsExactly(Duration.ofSeconds(2), Duration.ofSeconds(30));
    }

    @Test
    void collect_runnerBreaksUnexpectedly_becomesAnErrorNotAnException() {
        CommandRunner broken = (command, timeout) -> {
            throw new IllegalStateException("boom");
        };
        PostureClaims.Facts f = collect(Fixtures.root("luks2-laptop"), broken);
        assertThat(f.patch()).isEqualTo(new PatchFacts(null, null, null, null));
        assertThat(f.errors()).contains(new CheckError("patch", "internal error: java.lang.IllegalStateException: boom"));
    }
}
