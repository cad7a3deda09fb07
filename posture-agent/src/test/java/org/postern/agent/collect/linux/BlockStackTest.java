package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockStackTest {
    @TempDir
    Path tmp;

    private static BlockStack stack(String fixture) {
        return new BlockStack(new RootFs(Fixtures.root(fixture)));
    }

    @Test
    void walk_luks2OnPartition_isEncryptedLuks2() {
        var r = stack("luks2-laptop").walk("dm-0");
        assertThat(r).isEqualTo(new BlockStack.Encrypted(java.util.Set.of("LUKS2"), java.util.Set.of("dm-0")));
    }

    @Test
    void walk_lvmOnLuks_isEncryptedThroughTheOnlyPv() {
        var r = (BlockStack.Encrypted) stack("lvm-on-luks").walk("dm-1");
        assertThat(r.methods()).containsExactly("LUKS2");
        assertThat(r.cryptDevices()).containsExactly("dm-0");
    }

    @Test
    void walk_luksOnLvm_isEncryptedAtTheTop() {
        var r = (BlockStack.Encrypted) stack("luks-on-lvm").walk("dm-2");
        assertThat(r.methods()).containsExactly("LUKS1");
    }

    @Test
    void walk_lvmUnderLuks_aloneIsClear() {
        // The LV itself (what sits under the LUKS layer) is clear text down to sda3.
        assertThat(stack("luks-on-lvm").walk("dm-1")).isEqualTo(new BlockStack.Clear("sda3", List.of("dm-1", "sda3")));
    }

    @Test
    void walk_verity_isClearNotEncrypted() {
        assertThat(stack("verity-root").walk("dm-0")).isEqualTo(new BlockStack.Clear("nvme0n1p2", List.of("dm-0", "nvme0n1p2")));
    }

    @Test
    void walk_partition_isClear() {
        assertThat(stack("plain-ext4").walk("sda2")).isEqualTo(new BlockStack.Clear("sda2", List.of("sda2")));
    }

    @Test
    void walk_plainDmCrypt_isEncrypted() {
        new Fixtures.Tree(tmp).dm("dm-0", "CRYPT-PLAIN-cryptroot", "cryptroot", "sda2");
        var r = (BlockStack.Encrypted) new BlockStack(new RootFs(tmp)).walk("dm-0");
        assertThat(r.methods()).containsExactly("dm-crypt plain");
    }

    @Test
    void walk_lvmSpanningLuksAndClearPv_isClear() {
        // The case that makes "any crypt layer" wrong: part of the LV's extents are on sdb1 in clear.
        new Fixtures.Tree(tmp)
                .dm("dm-2", "LVM-aaaabbbb", "vg-root", "dm-0", "sdb1")
                .dm("dm-0", "CRYPT-LUKS2-0011-luks-a", "luks-a", "sda3");
        assertThat(new BlockStack(new RootFs(tmp)).walk("dm-2")).isEqualTo(new BlockStack.Clear("sdb1", List.of("dm-2", "sdb1")));
    }

    @Test
    void walk_lvmSpanningTwoLuksPvs_isEncrypted() {
        new Fixtures.Tree(tmp)
                .dm("dm-2", "LVM-aaaabbbb", "vg-root", "dm-0", "dm-1")
                .dm("dm-0", "CRYPT-LUKS2-0011-luks-a", "luks-a", "sda3")
                .dm("dm-1", "CRYPT-LUKS1-0022-luks-b", "luks-b", "sdb1");
        var r = (BlockStack.Encrypted) new BlockStack(new RootFs(tmp)).walk("dm-2");
        assertThat(r.methods()).containsExactlyInAnyOrder("LUKS2", "LUKS1");
    }

    @Test
    void walk_mdRaidOfTwoLuks_isEncrypted() {
        new Fixtures.Tree(tmp)
                .file("sys/block/md0/slaves/dm-0", "").file("sys/block/md0/slaves/dm-1", "")
                .dm("dm-0", "CRYPT-LUKS2-01-a", "a", "sda2")
                .dm("dm-1", "CRYPT-LUKS2-02-b", "b", "sdb2");
        assertThat(new BlockStack(new RootFs(tmp)).walk("md0")).isInstanceOf(BlockStack.Encrypted.class);
    }

    @Test
    void walk_dmWithoutUuidOverClear_isUnknown() {
        new Fixtures.Tree(tmp).file("sys/block/dm-0/dm/uuid", "\n").file("sys/block/dm-0/slaves/sda2", "");
        var r = (BlockStack.Unknown) new BlockStack(new RootFs(tmp)).walk("dm-0");
        assertThat(r.why()).isEqualTo("dm-0 is a device-mapper device with no uuid that names no known target,"
                + " so whether it encrypts cannot be told");
    }

    @Test
    void walk_loopDevice_isUnknown() {
        var r = (BlockStack.Unknown) new BlockStack(new RootFs(tmp)).walk("loop0");
        assertThat(r.why()).startsWith("loop0 is a loop device backed by a file");
    }

    @Test
    void walk_cycle_stopsAtDepthLimit() {
        new Fixtures.Tree(tmp).dm("dm-0", "LVM-x", "x", "dm-1").dm("dm-1", "LVM-y", "y", "dm-0");
        var r = (BlockStack.Unknown) new BlockStack(new RootFs(tmp)).walk("dm-0");
        assertThat(r.why()).startsWith("device stack deeper than 16 at dm-0 -> dm-1 -> dm-0");
    }

    @Test
    void byMapperName_findsTheDmDevice() {
        assertThat(stack("lvm-on-luks").byMapperName("ubuntu--vg-ubuntu--lv")).contains("dm-1");
        assertThat(stack("lvm-on-luks").byMapperName("nope")).isEmpty();
    }
}
