package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class LsblkTest {

    private static List<Lsblk.Node> path(String fixture) {
        return Lsblk.pathToRoot(Fixtures.text(fixture, "commands/lsblk.txt")).orElseThrow();
    }

    @Test
    void pathToRoot_luks2_endsInCrypt() {
        assertThat(path("luks2-laptop")).containsExactly(
                new Lsblk.Node("nvme0n1", "disk"), new Lsblk.Node("nvme0n1p3", "part"), new Lsblk.Node("nvme0n1p3_crypt", "crypt"));
        assertThat(Lsblk.hasCryptType(path("luks2-laptop"))).isTrue();
    }

    @Test
    void pathToRoot_lvmOnLuks_hasCryptUnderLvm() {
        assertThat(path("lvm-on-luks")).extracting(Lsblk.Node::type).containsExactly("disk", "part", "crypt", "lvm");
    }

    @Test
    void pathToRoot_luksOnLvm_hasLvmUnderCrypt() {
        assertThat(path("luks-on-lvm")).extracting(Lsblk.Node::type).containsExactly("disk", "part", "lvm", "crypt");
    }

    @Test
    void pathToRoot_plain_hasNoCrypt() {
        assertThat(Lsblk.hasCryptType(path("plain-ext4"))).isFalse();
    }

    @Test
    void pathToRoot_verity_showsCryptTypeToo() {
        // Why lsblk is only a cross-check: dm-verity is "crypt" for lsblk.
        assertThat(Lsblk.hasCryptType(path("verity-root"))).isTrue();
    }

    @Test
    void pathToRoot_thisMachinesShape_vdaMountedDirectly() {
        String json = """
                {"blockdevices": [
                   {"name": "zram0", "type": "disk", "fstype": null, "mountpoint": null, "pkname": null},
                   {"name": "vda", "type": "disk", "fstype": null, "mountpoint": "/", "pkname": null}
                ]}""";
        assertThat(Lsblk.pathToRoot(json).orElseThrow()).containsExactly(new Lsblk.Node("vda", "disk"));
    }

    @Test
    void pathToRoot_nothingAtSlash_isEmpty() {
        assertThat(Lsblk.pathToRoot("{\"blockdevices\": []}")).isEmpty();
    }

    @Test
    void pathToRoot_notJson_says() {
        assertThatThrownBy(() -> Lsblk.pathToRoot("lsblk: unknown column: PKNAME"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("lsblk output is not JSON");
        assertThatThrownBy(() -> Lsblk.pathToRoot("{\"devices\": []}"))
                .hasMessage("lsblk output has no \"blockdevices\" array");
    }
}
