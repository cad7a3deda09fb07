package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DmUuidTest {

    @Test
    void of_cryptsetupEncryptingTypes_encrypt() {
        assertThat(DmUuid.of("CRYPT-LUKS2-6c7e3b0f2d9a4e51b8c21f0a9d3e7b42-root").method()).isEqualTo("LUKS2");
        assertThat(DmUuid.of("CRYPT-LUKS1-a1b2-luks-root").method()).isEqualTo("LUKS1");
        assertThat(DmUuid.of("CRYPT-PLAIN-swap").method()).isEqualTo("dm-crypt plain");
        assertThat(DmUuid.of("CRYPT-BITLK-x-y").encrypts()).isTrue();
        assertThat(DmUuid.of("CRYPT-TCRYPT-x-y").encrypts()).isTrue();
    }

    @Test
    void of_verityAndIntegrity_doNotEncrypt() {
        assertThat(DmUuid.of("CRYPT-VERITY-8d2f4b6e1a3c5e7f9b0d2f4a6c8e0b1d-root")).isEqualTo(DmUuid.PASS_THROUGH);
        assertThat(DmUuid.of("CRYPT-INTEGRITY-x-y")).isEqualTo(DmUuid.PASS_THROUGH);
        assertThat(DmUuid.of("CRYPT-SUBDEV-x-y_dif")).isEqualTo(DmUuid.PASS_THROUGH);
    }

    @Test
    void of_lvmMultipathPartitions_passThrough() {
        assertThat(DmUuid.of("LVM-Qw3rTy7uIoP1aSdFgHjKlZxCvBnM0q2W8eRtYuIoPaSdFgHjKlZxCvBnM1q2W3eR")).isEqualTo(DmUuid.PASS_THROUGH);
        assertThat(DmUuid.of("mpath-3600508b400105e210000900000490000")).isEqualTo(DmUuid.PASS_THROUGH);
        assertThat(DmUuid.of("part1-mpath-3600508b4")).isEqualTo(DmUuid.PASS_THROUGH);
    }

    @Test
    void of_emptyOrForeignUuid_isUnknown() {
        assertThat(DmUuid.of("")).isEqualTo(DmUuid.UNKNOWN);
        assertThat(DmUuid.of(null)).isEqualTo(DmUuid.UNKNOWN);
        assertThat(DmUuid.of("stratis-1-private-abc")).isEqualTo(DmUuid.UNKNOWN);
        assertThat(DmUuid.of("CRYPT-FUTURE-x")).isEqualTo(DmUuid.UNKNOWN);
    }
}
