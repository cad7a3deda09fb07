package org.postern.agent.collect.osquery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;

class OsqueryFactsTest {

    @Test
    void windowsOs_nameWithoutVendor_buildDotUbr() {
        OsFacts os = OsqueryFacts.os(OsqueryFixtures.rows("windows-os_version.json").getFirst(), "10.0.22621.3447", "3447");

        assertThat(os).isEqualTo(new OsFacts(OsFacts.WINDOWS, "Windows 11 Pro", "10.0.22631", "22631.3447", "10.0.22621.3447"));
    }

    @Test
    void macosOs() {
        assertThat(OsqueryFacts.os(OsqueryFixtures.rows("darwin-os_version.json").getFirst(), "23.4.0", null))
                .isEqualTo(new OsFacts(OsFacts.MACOS, "macOS", "14.4.1", "23E224", "23.4.0"));
    }

    @Test
    void linuxOs_distributionIdAndNumericVersion() {
        assertThat(OsqueryFacts.os(OsqueryFixtures.rows("linux-os_version.json").getFirst(), "6.1.0-18-amd64", null))
                .isEqualTo(new OsFacts(OsFacts.LINUX, "debian", "12", null, "6.1.0-18-amd64"));
    }

    @Test
    void bitlocker_systemDriveRowPicked_methodNamed() {
        assertThat(OsqueryFacts.bitlocker(OsqueryFixtures.rows("windows-bitlocker_info.json"), "C:"))
                .isEqualTo(new DiskFacts("C:", true, "XTS-AES 128", true, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void bitlocker_osquery4NumericMethod_suspended_protectionOff() {
        assertThat(OsqueryFacts.bitlocker(OsqueryFixtures.rows("windows-bitlocker_info-suspended-osquery4.json"), "C:"))
                .isEqualTo(new DiskFacts("C:", true, "XTS-AES 128", false, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void bitlocker_inProgress_unreadablePercentIsNull() {
        var rows = List.of(Map.of("drive_letter", "C:", "conversion_status", "2", "protection_status", "0",
                "encryption_method", "XTS_AES_256", "percentage_encrypted", "-1"));

        assertThat(OsqueryFacts.bitlocker(rows, "C:"))
                .isEqualTo(new DiskFacts("C:", true, "XTS-AES 256", false, DiskFacts.ENCRYPTION_IN_PROGRESS, null));
    }

    @Test
    void bitlocker_noRowForSystemDrive_isNamed() {
        assertThatThrownBy(() -> OsqueryFacts.bitlocker(List.of(), "C:"))
                .hasMessage("bitlocker_info returned no row for C: (no row at all: osquery must run elevated to read BitLocker state)");
        assertThatThrownBy(() -> OsqueryFacts.bitlocker(OsqueryFixtures.rows("windows-bitlocker_info.json"), "E:"))
                .hasMessage("bitlocker_info returned no row for E:");
    }

    @Test
    void bitlocker_unreadableProtection_isRejected() {
        var rows = List.of(Map.of("drive_letter", "C:", "conversion_status", "1", "protection_status", "-1"));

        assertThatThrownBy(() -> OsqueryFacts.bitlocker(rows, "C:"))
                .hasMessage("bitlocker_info row for C: has protection_status \"-1\" (expected 0 or 1; -1 means osquery could not read it)");
    }

    @Test
    void systemDrive_fromSystemRoot() {
        assertThat(OsqueryFacts.systemDrive(OsqueryFixtures.rows("windows-registry.json"))).isEqualTo("C:");
        assertThatThrownBy(() -> OsqueryFacts.systemDrive(List.of()))
                .hasMessage("registry SystemRoot: expected a path like C:\\WINDOWS, found nothing");
    }

    @Test
    void lastWindowsUpdate_skipsDefenderDefinitions() {
        assertThat(OsqueryFacts.lastWindowsUpdate(OsqueryFixtures.rows("windows-windows_update_history.json")))
                .isEqualTo(Instant.ofEpochSecond(1712682765L));
    }

    @Test
    void filevaultOn_dataVolumeRow() {
        assertThat(OsqueryFacts.filevault(OsqueryFixtures.rows("darwin-mounts.json"), OsqueryFixtures.rows("darwin-disk_encryption-fv-on.json")))
                .isEqualTo(new DiskFacts("/System/Volumes/Data", true, "FileVault", true, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void filevaultOff_onAppleSilicon_encryptedButNotProtected() {
        assertThat(OsqueryFacts.filevault(OsqueryFixtures.rows("darwin-mounts.json"), OsqueryFixtures.rows("darwin-disk_encryption-fv-off.json")))
                .isEqualTo(new DiskFacts("/System/Volumes/Data", true, "APFS Encryption", false, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void filevaultStatusMissing_oldOsquery_isRejected() {
        var enc = List.of(Map.of("name", "/dev/disk3s5", "encrypted", "1", "type", "APFS Encryption"));

        assertThatThrownBy(() -> OsqueryFacts.filevault(OsqueryFixtures.rows("darwin-mounts.json"), enc))
                .hasMessage("disk_encryption /dev/disk3s5: filevault_status expected on or off, found nothing (osquery too old, or FileVault state unknown)");
    }

    @Test
    void luks_lvmOnLuks_rootFoundByDeviceAlias() {
        assertThat(OsqueryFacts.luks(OsqueryFixtures.rows("linux-mounts.json"), OsqueryFixtures.rows("linux-disk_encryption-lvm-on-luks.json")))
                .isEqualTo(new DiskFacts("/", true, "LUKS2-aes-xts-plain64", true, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void luks_dmVerityRoot_isNotEncryption() {
        assertThat(OsqueryFacts.luks(OsqueryFixtures.rows("linux-mounts-verity.json"), OsqueryFixtures.rows("linux-disk_encryption-verity.json")))
                .isEqualTo(new DiskFacts("/", false, "VERITY (integrity only, not encryption)", false, DiskFacts.FULLY_DECRYPTED, 0));
    }

    @Test
    void luks_noRowsAsNonRoot_isNamed() {
        assertThatThrownBy(() -> OsqueryFacts.luks(OsqueryFixtures.rows("linux-mounts.json"), List.of()))
                .hasMessage("disk_encryption returned no rows (osquery must run as root to read dm-crypt state)");
    }

    @Test
    void luks_plainPartitionRoot_notEncrypted() {
        var mounts = List.of(Map.of("path", "/", "device", "/dev/nvme0n1p2", "device_alias", "/dev/nvme0n1p2"));

        assertThat(OsqueryFacts.luks(mounts, OsqueryFixtures.rows("linux-disk_encryption-lvm-on-luks.json")))
                .isEqualTo(new DiskFacts("/", false, null, false, DiskFacts.FULLY_DECRYPTED, 0));
    }
}
