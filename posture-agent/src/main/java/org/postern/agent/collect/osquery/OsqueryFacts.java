package org.postern.agent.collect.osquery;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;

/**
 * Facts from osquery rows, per table (osquery's specs/*.table): {@code os_version},
 * {@code kernel_info}, {@code registry}, {@code bitlocker_info}, {@code windows_update_history},
 * {@code mounts}, {@code disk_encryption}. Each method throws {@link IllegalArgumentException}
 * with the reason when the rows cannot give the fact.
 */
final class OsqueryFacts {
    /** Defender/Security Essentials definition and platform updates (see the Windows collector). */
    static final Set<Long> ANTIMALWARE_KBS = Set.of(2267602L, 2461484L, 915597L, 4052623L);
    private static final Pattern KB = Pattern.compile("KB(\\d+)");
    private static final Pattern LEADING_VERSION = Pattern.compile("^(\\d+(?:\\.\\d+)*)");

    private OsqueryFacts() {
    }

    /** The family from {@code os_version.platform}: windows, darwin, or a Linux distribution id. */
    static String family(Map<String, String> osVersion) {
        String platform = OsqueryRows.text(osVersion, "platform");
        if (platform == null) {
            throw new IllegalArgumentException("os_version.platform is empty");
        }
        return switch (platform.toLowerCase(Locale.ROOT)) {
            case "windows" -> OsFacts.WINDOWS;
            case "darwin" -> OsFacts.MACOS;
            default -> OsFacts.LINUX;
        };
    }

    static OsFacts os(Map<String, String> osVersion, String kernel, String windowsUbr) {
        String family = family(osVersion);
        String name = OsqueryRows.text(osVersion, "name");
        String version = OsqueryRows.text(osVersion, "version");
        String build = OsqueryRows.text(osVersion, "build");
        return switch (family) {
            case OsFacts.WINDOWS -> new OsFacts(family,
                    name != null && name.startsWith("Microsoft ") ? name.substring("Microsoft ".length()) : name,
                    version, build == null || windowsUbr == null ? null : build + "." + windowsUbr, kernel);
            case OsFacts.MACOS -> new OsFacts(family, name, version, build, kernel);
            default -> {
                Matcher m = version == null ? null : LEADING_VERSION.matcher(version);
                yield new OsFacts(family, OsqueryRows.text(osVersion, "platform"), m != null && m.find() ? m.group(1) : null, null, kernel);
            }
        };
    }

    /** The system drive's row of {@code bitlocker_info}. */
    static DiskFacts bitlocker(List<Map<String, String>> rows, String systemDrive) {
        Map<String, String> row = rows.stream()
                .filter(r -> systemDrive.equalsIgnoreCase(OsqueryRows.text(r, "drive_letter")))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("bitlocker_info returned no row for " + systemDrive
                        + (rows.isEmpty() ? " (no row at all: osquery must run elevated to read BitLocker state)" : "")));
        Long conversion = OsqueryRows.integer(row, "conversion_status");
        Long protection = OsqueryRows.integer(row, "protection_status");
        Long percent = OsqueryRows.integer(row, "percentage_encrypted");
        String state = conversion == null ? null : switch (conversion.intValue()) {
            case 0 -> DiskFacts.FULLY_DECRYPTED;
            case 1 -> DiskFacts.FULLY_ENCRYPTED;
            case 2 -> DiskFacts.ENCRYPTION_IN_PROGRESS;
            case 3 -> DiskFacts.DECRYPTION_IN_PROGRESS;
            case 4 -> DiskFacts.ENCRYPTION_PAUSED;
            case 5 -> DiskFacts.DECRYPTION_PAUSED;
            default -> null;
        };
        if (state == null) {
            throw new IllegalArgumentException("bitlocker_info row for " + systemDrive + " has conversion_status "
                    + quote(row.get("conversion_status")) + " (expected 0-5)");
        }
        if (protection == null || (protection != 0 && protection != 1)) {
            throw new IllegalArgumentException("bitlocker_info row for " + systemDrive + " has protection_status "
                    + quote(row.get("protection_status")) + " (expected 0 or 1; -1 means osquery could not read it)");
        }
        return new DiskFacts(systemDrive.toUpperCase(Locale.ROOT), !state.equals(DiskFacts.FULLY_DECRYPTED),
                bitlockerMethod(OsqueryRows.text(row, "encryption_method")), protection == 1, state,
                percent == null || percent < 0 ? null : percent.intValue());
    }

    /** osquery 4.x wrote the number, 5.x the name (XTS_AES_128); shown as manage-bde does. */
    static @Nullable String bitlockerMethod(@Nullable String value) {
        if (value == null) {
            return null;
        }
        return switch (value.toUpperCase(Locale.ROOT)) {
            case "0", "NONE" -> "none";
            case "1", "AES_128_WITH_DIFFUSER" -> "AES 128 with Diffuser";
            case "2", "AES_256_WITH_DIFFUSER" -> "AES 256 with Diffuser";
            case "3", "AES_128" -> "AES 128";
            case "4", "AES_256" -> "AES 256";
            case "5", "HARDWARE_ENCRYPTION" -> "Hardware Encryption";
            case "6", "XTS_AES_128" -> "XTS-AES 128";
            case "7", "XTS_AES_256" -> "XTS-AES 256";
            default -> "unknown (" + value + ")";
        };
    }

    /** The system drive ("C:") from the registry's SystemRoot ("C:\\WINDOWS"). */
    static String systemDrive(List<Map<String, String>> registry) {
        String root = registryValue(registry, "SystemRoot");
        if (root == null || !root.matches("(?i)[a-z]:.*")) {
            throw new IllegalArgumentException("registry SystemRoot: expected a path like C:\\WINDOWS, found " + quote(root));
        }
        return root.substring(0, 2).toUpperCase(Locale.ROOT);
    }

    static String registryValue(List<Map<String, String>> registry, String name) {
        return registry.stream().filter(r -> name.equalsIgnoreCase(r.get("name")))
                .map(r -> OsqueryRows.text(r, "data")).findFirst().orElse(null);
    }

    /** Newest successful installation that is not an antivirus definition update; null if none. */
    static @Nullable Instant lastWindowsUpdate(List<Map<String, String>> history) {
        Instant newest = null;
        for (Map<String, String> h : history) {
            Matcher kb = KB.matcher(String.valueOf(h.get("title")));
            if (kb.find() && ANTIMALWARE_KBS.contains(Long.parseLong(kb.group(1)))) {
                continue;
            }
            Long date = OsqueryRows.integer(h, "date");
            if (date != null && date > 0) {
                Instant when = Instant.ofEpochSecond(date);
                if (newest == null || when.isAfter(newest)) {
                    newest = when;
                }
            }
        }
        return newest;
    }

    /**
     * macOS: the Data volume's row (FileVault protects /System/Volumes/Data; "/" is a sealed
     * system snapshot), else the row of "/". {@code encrypted} is 1 on every Apple-silicon or T2
     * Mac, FileVault or not: only {@code filevault_status} says whether the key is protected.
     */
    static DiskFacts filevault(List<Map<String, String>> mounts, List<Map<String, String>> encryption) {
        Map<String, String> row = null;
        String volume = null;
        for (String path : List.of("/System/Volumes/Data", "/")) {
            String device = mounts.stream().filter(m -> path.equals(m.get("path"))).map(m -> m.get("device")).findFirst().orElse(null);
            if (device == null) {
                continue;
            }
            row = encryption.stream().filter(e -> device.equals(e.get("name"))).findFirst().orElse(null);
            if (row != null) {
                volume = path;
                break;
            }
        }
        if (row == null) {
            throw new IllegalArgumentException("disk_encryption returned no row for the device of /System/Volumes/Data or /");
        }
        String fv = OsqueryRows.text(row, "filevault_status");
        if (fv == null || !(fv.equals("on") || fv.equals("off"))) {
            throw new IllegalArgumentException("disk_encryption " + row.get("name") + ": filevault_status expected on or off, found "
                    + quote(fv) + " (osquery too old, or FileVault state unknown)");
        }
        boolean encrypted = "1".equals(OsqueryRows.text(row, "encrypted"));
        boolean on = fv.equals("on");
        return new DiskFacts(volume, encrypted || on, on ? "FileVault" : OsqueryRows.text(row, "type"), on,
                encrypted || on ? DiskFacts.FULLY_ENCRYPTED : DiskFacts.FULLY_DECRYPTED, encrypted || on ? 100 : 0);
    }

    /**
     * Linux: the row of the device mounted on "/" ({@code device_alias} is the /dev/dm-N name
     * that disk_encryption uses for /dev/mapper/…). A device-mapper "crypt" target also serves
     * dm-verity and dm-integrity ("VERITY…", "INTEGRITY…" types): those are not encryption.
     */
    static DiskFacts luks(List<Map<String, String>> mounts, List<Map<String, String>> encryption) {
        Map<String, String> root = mounts.stream().filter(m -> "/".equals(m.get("path"))).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("mounts has no row for /"));
        if (encryption.isEmpty()) {
            throw new IllegalArgumentException("disk_encryption returned no rows (osquery must run as root to read dm-crypt state)");
        }
        String alias = OsqueryRows.text(root, "device_alias");
        String device = OsqueryRows.text(root, "device");
        Map<String, String> row = encryption.stream().filter(e -> e.get("name") != null
                        && (e.get("name").equals(alias) || e.get("name").equals(device)))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("disk_encryption has no row for / (device " + device
                        + (alias == null ? "" : ", " + alias) + ")"));
        String type = OsqueryRows.text(row, "type");
        String upper = type == null ? "" : type.toUpperCase(Locale.ROOT);
        if (upper.startsWith("VERITY") || upper.startsWith("INTEGRITY")) {
            return new DiskFacts("/", false, type + " (integrity only, not encryption)", false, DiskFacts.FULLY_DECRYPTED, 0);
        }
        if ("1".equals(OsqueryRows.text(row, "encrypted"))) {
            return new DiskFacts("/", true, type, true, DiskFacts.FULLY_ENCRYPTED, 100);
        }
        return new DiskFacts("/", false, null, false, DiskFacts.FULLY_DECRYPTED, 0);
    }

    private static String quote(String s) {
        return s == null ? "nothing" : "\"" + s + "\"";
    }
}
