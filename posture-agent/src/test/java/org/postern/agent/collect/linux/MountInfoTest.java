package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MountInfoTest {

    @Test
    void rootMount_luks2Laptop_isDm0() {
        var m = MountInfo.rootMount(Fixtures.text("luks2-laptop", "proc/self/mountinfo")).orElseThrow();
        assertThat(m).isEqualTo(new MountInfo.Mount(254, 0, "/", "ext4", "/dev/mapper/nvme0n1p3_crypt"));
        assertThat(m.hasBlockDevice()).isTrue();
    }

    @Test
    void rootMount_eachBlockFixture_hasItsDevice() {
        assertThat(MountInfo.rootMount(Fixtures.text("lvm-on-luks", "proc/self/mountinfo")).orElseThrow().devNumber()).isEqualTo("253:1");
        assertThat(MountInfo.rootMount(Fixtures.text("luks-on-lvm", "proc/self/mountinfo")).orElseThrow().devNumber()).isEqualTo("253:2");
        assertThat(MountInfo.rootMount(Fixtures.text("plain-ext4", "proc/self/mountinfo")).orElseThrow().devNumber()).isEqualTo("8:2");
        assertThat(MountInfo.rootMount(Fixtures.text("verity-root", "proc/self/mountinfo")).orElseThrow().fsType()).isEqualTo("erofs");
    }

    @Test
    void rootMount_overlayContainer_hasNoBlockDevice() {
        var m = MountInfo.rootMount(Fixtures.text("container-overlay", "proc/self/mountinfo")).orElseThrow();
        assertThat(m.fsType()).isEqualTo("overlay");
        assertThat(m.source()).isEqualTo("overlay");
        assertThat(m.hasBlockDevice()).isFalse();
    }

    @Test
    void rootMount_noEntryForSlash_isEmpty() {
        assertThat(MountInfo.rootMount("22 28 0:21 / /sys rw - sysfs sysfs rw\n")).isEmpty();
        assertThat(MountInfo.rootMount("")).isEmpty();
    }

    @Test
    void rootMount_mountedOverTwice_takesTheLastOne() {
        String text = "28 1 8:2 / / rw - ext4 /dev/sda2 rw\n90 28 254:3 / / rw - ext4 /dev/mapper/top rw\n";
        assertThat(MountInfo.rootMount(text).orElseThrow().source()).isEqualTo("/dev/mapper/top");
    }

    @Test
    void parse_optionalFieldsAndEscapes_areHandled() {
        var m = MountInfo.parse("36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue").orElseThrow();
        assertThat(m.mountPoint()).isEqualTo("/mnt two");
        assertThat(m.fsType()).isEqualTo("ext3");
        assertThat(m.source()).isEqualTo("/dev/root");
    }

    @Test
    void parse_malformedLines_areSkipped() {
        assertThat(MountInfo.parse("garbage")).isEmpty();
        assertThat(MountInfo.parse("36 35 x:y / / rw - ext4 /dev/sda rw")).isEmpty();
        assertThat(MountInfo.parse("36 35 8:1 / / rw ext4 /dev/sda rw")).isEmpty();
    }
}
