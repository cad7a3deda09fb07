package org.postern.protocol.posture;

import java.util.Locale;

/**
 * Remediations a non-expert can follow, per OS family (and Linux distribution where the package
 * tool differs). Menu paths are those of current releases: Windows 11 (Windows 10 wording in
 * brackets where it differs) and macOS 13 and later.
 */
final class Advice {

    private Advice() {
    }

    static String turnOnEncryption(String family, String volume) {
        String v = volume == null ? "the system drive" : volume;
        return switch (family(family)) {
            case OsFacts.WINDOWS -> "Turn on BitLocker for " + v + " in Settings → Privacy & security → Device encryption"
                    + " (or Control Panel → BitLocker Drive Encryption), keep the laptop on power until it finishes,"
                    + " then run postern-agent check again.";
            case OsFacts.MACOS -> "Turn on FileVault in System Settings → Privacy & Security → FileVault, restart when"
                    + " asked, then run postern-agent check again.";
            case OsFacts.LINUX -> "Disk encryption (LUKS) cannot be turned on in place: back up your files and ask IT"
                    + " to reinstall this laptop with full-disk encryption.";
            default -> Reason.DISK_NOT_ENCRYPTED.remediation();
        };
    }

    static String resumeProtection(String family, String volume) {
        String v = volume == null ? "the system drive" : volume;
        return switch (family(family)) {
            case OsFacts.WINDOWS -> "Resume BitLocker protection for " + v + ": Control Panel → BitLocker Drive"
                    + " Encryption → Resume protection (restarting after an update also resumes it), then run"
                    + " postern-agent check again.";
            case OsFacts.MACOS -> "Finish turning on FileVault: log out and log in again (or restart) so the deferred"
                    + " enablement completes; System Settings → Privacy & Security → FileVault shows the state.";
            case OsFacts.LINUX -> "Ask IT to check this laptop's disk encryption: the system volume is set up for LUKS"
                    + " but its protection is not active.";
            default -> Reason.DISK_PROTECTION_OFF.remediation();
        };
    }

    static String waitForEncryption(String family) {
        return switch (family(family)) {
            case OsFacts.WINDOWS -> "Keep the laptop on power and awake until BitLocker finishes (progress in Control"
                    + " Panel → BitLocker Drive Encryption), then run postern-agent check again.";
            case OsFacts.MACOS -> "Keep the Mac on power and awake until FileVault finishes (progress in System"
                    + " Settings → Privacy & Security → FileVault), then run postern-agent check again.";
            default -> Reason.DISK_ENCRYPTION_IN_PROGRESS.remediation();
        };
    }

    /** How to install pending updates; {@code distribution} is the os-release ID on Linux. */
    static String installUpdates(String family, String distribution) {
        return switch (family(family)) {
            case OsFacts.WINDOWS -> "Open Settings → Windows Update, click Check for updates, install everything"
                    + " offered and restart when asked, then run postern-agent check again.";
            case OsFacts.MACOS -> "Open System Settings → General → Software Update, install the updates offered and"
                    + " restart when asked, then run postern-agent check again.";
            case OsFacts.LINUX -> "Run " + linuxUpgrade(distribution) + " in a terminal (or use the Software"
                    + " Updater), restart if asked, then run postern-agent check again.";
            default -> Reason.PATCH_STALE.remediation();
        };
    }

    static String upgradeRelease(String distribution, String minimum) {
        return "Upgrade " + distribution + " to release " + minimum + " or later; a release upgrade needs a backup"
                + " and some time, so ask IT to plan it with you.";
    }

    static String restart(String family) {
        return switch (family(family)) {
            case OsFacts.WINDOWS -> "Restart Windows (Start → Power → Update and restart) to finish installing updates.";
            case OsFacts.MACOS -> "Restart the Mac (Apple menu → Restart) to finish installing updates.";
            default -> "Restart the laptop to finish installing updates.";
        };
    }

    static String checkFailed(String check) {
        if (check.equals("cert")) {
            return "Enroll this laptop first: ask IT for an enrollment token, then run postern-agent enroll"
                    + " --gateway URL --token TOKEN --ca-sha256 FINGERPRINT.";
        }
        return Reason.CHECK_FAILED.remediation();
    }

    static String linuxUpgrade(String distribution) {
        return switch (distribution == null ? "" : distribution.toLowerCase(Locale.ROOT)) {
            case "fedora", "rhel", "centos", "rocky", "almalinux", "ol" -> "`sudo dnf upgrade --refresh`";
            case "sles", "sled", "opensuse-leap" -> "`sudo zypper update`";
            default -> "`sudo apt update && sudo apt full-upgrade`";
        };
    }

    private static String family(String family) {
        return family == null ? "" : family.toLowerCase(Locale.ROOT);
    }
}
