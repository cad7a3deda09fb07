package org.postern.agent.collect.windows;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

/**
 * Turns the JSON document of {@link WindowsScript} into facts. Decides on numbers and stable IDs
 * only; every missing or unexpected value becomes a {@link CheckError} and a null fact.
 */
final class WindowsReportParser {
    /** Windows 11 kept "Windows 10" in the registry's ProductName; its builds start here. */
    static final int FIRST_WINDOWS_11_BUILD = 22000;

    /**
     * Pending updates come from Windows Update's local cache (an offline search keeps the agent
     * fast and off the network); the cache is only trusted when Automatic Updates searched
     * online this recently.
     */
    static final Duration MAX_SEARCH_AGE = Duration.ofDays(7);

    /**
     * Microsoft Defender / Security Essentials definition and platform updates arrive several
     * times a day through Windows Update; they say nothing about the OS patch level, so they do
     * not count as "the last update" (titles differ by language, KB numbers do not).
     */
    static final Set<Long> ANTIMALWARE_KBS = Set.of(2267602L, 2461484L, 915597L, 4052623L);

    /** The "used space only" bit of GetConversionStatus's EncryptionFlags. */
    static final long DATA_ONLY = 0x1;

    static final String ENCRYPTION_PAUSED = DiskFacts.ENCRYPTION_PAUSED;
    static final String DECRYPTION_PAUSED = DiskFacts.DECRYPTION_PAUSED;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Instant now;
    private final List<CheckError> errors = new ArrayList<>();

    private WindowsReportParser(Instant now) {
        this.now = now;
    }

    /** Facts from the script's output; {@code now} judges how fresh Windows Update's cache is. */
    static PostureClaims.Facts parse(String json, Instant now) {
        return new WindowsReportParser(now).facts(json);
    }

    private PostureClaims.Facts facts(String json) {
        JsonNode root;
        try {
            root = json == null || json.isBlank() ? null : JSON.readTree(json);
        } catch (JsonProcessingException e) {
            root = null;
        }
        if (root == null || !root.isObject()) {
            String why = "powershell.exe printed no JSON document (expected one object, found "
                    + (json == null || json.isBlank() ? "nothing" : "\"" + abbreviate(json) + "\"") + ")";
            return new PostureClaims.Facts(null, null, null, PostureClaims.NATIVE,
                    List.of(new CheckError("os", why), new CheckError("disk", why), new CheckError("patch", why)));
        }
        OsFacts os = os(root);
        DiskFacts disk = disk(root);
        PatchFacts patch = patch(root);
        return new PostureClaims.Facts(os, disk, patch, PostureClaims.NATIVE, errors);
    }

    // ---- os -------------------------------------------------------------------------------

    private @Nullable OsFacts os(JsonNode root) {
        if (failed(root, "osError", "os", "cannot read HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion")) {
            return null;
        }
        JsonNode os = root.path("os");
        Long major = PsJson.integer(os.get("major"));
        Long minor = PsJson.integer(os.get("minor"));
        String currentBuild = PsJson.text(os.get("currentBuild"));
        Long ubr = PsJson.integer(os.get("ubr"));
        String name = PsJson.text(os.get("productName"));
        if (currentBuild == null || !currentBuild.matches("\\d+")) {
            errors.add(new CheckError("os", "registry CurrentBuild: expected a number like 22631, found " + quote(currentBuild)));
            return new OsFacts(OsFacts.WINDOWS, name, null, null, null);
        }
        if (name != null && name.startsWith("Windows 10") && Integer.parseInt(currentBuild) >= FIRST_WINDOWS_11_BUILD) {
            name = "Windows 11" + name.substring("Windows 10".length());
        }
        String version = major == null || minor == null ? null : major + "." + minor + "." + currentBuild;
        if (version == null) {
            errors.add(new CheckError("os", "registry CurrentMajorVersionNumber/CurrentMinorVersionNumber missing"));
        }
        String build = null;
        if (ubr == null) {
            errors.add(new CheckError("os", "registry UBR: expected a number like 3447, found " + quote(PsJson.text(os.get("ubr")))));
        } else {
            build = currentBuild + "." + ubr;
        }
        return new OsFacts(OsFacts.WINDOWS, name, version, build, version);
    }

    // ---- disk -----------------------------------------------------------------------------

    private @Nullable DiskFacts disk(JsonNode root) {
        if (failed(root, "diskError", "disk", "cannot query Win32_EncryptableVolume")) {
            return null;
        }
        JsonNode d = root.path("disk");
        String volume = PsJson.text(d.get("driveLetter"));
        if (d.isMissingNode() || !d.path("found").asBoolean(false)) {
            errors.add(new CheckError("disk", "Win32_EncryptableVolume has no instance for the system drive "
                    + (volume == null ? "" : volume + " ") + "(BitLocker is not available on this volume)"));
            return null;
        }
        for (String rc : List.of("protectionReturn", "conversionReturn", "methodReturn")) {
            Long code = PsJson.integer(d.get(rc));
            if (code == null || code != 0) {
                String method = switch (rc) {
                    case "protectionReturn" -> "GetProtectionStatus";
                    case "conversionReturn" -> "GetConversionStatus";
                    default -> "GetEncryptionMethod";
                };
                errors.add(new CheckError("disk", method + " on " + volume + " returned "
                        + (code == null ? "nothing" : String.format("0x%08X", code)) + " (expected 0)"));
                return null;
            }
        }
        Long volumeType = PsJson.integer(d.get("volumeType"));
        if (volumeType != null && volumeType != 0) {
            errors.add(new CheckError("disk", "Win32_EncryptableVolume " + volume + " has VolumeType " + volumeType
                    + " (expected 0, the operating system volume)"));
        }
        Long conversion = PsJson.integer(d.get("conversionStatus"));
        String state = conversion == null ? null : switch (conversion.intValue()) {
            case 0 -> DiskFacts.FULLY_DECRYPTED;
            case 1 -> DiskFacts.FULLY_ENCRYPTED;
            case 2 -> DiskFacts.ENCRYPTION_IN_PROGRESS;
            case 3 -> DiskFacts.DECRYPTION_IN_PROGRESS;
            case 4 -> ENCRYPTION_PAUSED;
            case 5 -> DECRYPTION_PAUSED;
            default -> null;
        };
        if (state == null) {
            errors.add(new CheckError("disk", "GetConversionStatus on " + volume + " gave ConversionStatus " + conversion + " (expected 0-5)"));
        }
        Long protection = PsJson.integer(d.get("protectionStatus"));
        Boolean protectionOn = protection == null ? null : switch (protection.intValue()) {
            case 0 -> false;
            case 1 -> true;
            default -> null;
        };
        if (protectionOn == null) {
            errors.add(new CheckError("disk", "GetProtectionStatus on " + volume + " gave protection status "
                    + (protection == null ? "missing" : protection + " (unknown; the volume may be locked)")));
        }
        Long percentage = PsJson.integer(d.get("encryptionPercentage"));
        Long flags = PsJson.integer(d.get("encryptionFlags"));
        String method = method(PsJson.integer(d.get("encryptionMethod")));
        if (method != null && flags != null && (flags & DATA_ONLY) != 0) {
            method = method + ", used space only";
        }
        Boolean encrypted = state == null ? null : !state.equals(DiskFacts.FULLY_DECRYPTED);
        return new DiskFacts(volume, encrypted, method, protectionOn, state, percentage == null ? null : percentage.intValue());
    }

    /** GetEncryptionMethod's EncryptionMethod, named as manage-bde shows it. */
    static @Nullable String method(@Nullable Long code) {
        if (code == null) {
            return null;
        }
        return switch (code.intValue()) {
            case 0 -> "none";
            case 1 -> "AES 128 with Diffuser";
            case 2 -> "AES 256 with Diffuser";
            case 3 -> "AES 128";
            case 4 -> "AES 256";
            case 5 -> "Hardware Encryption";
            case 6 -> "XTS-AES 128";
            case 7 -> "XTS-AES 256";
            default -> "unknown (" + Integer.toUnsignedString(code.intValue()) + ")";
        };
    }

    // ---- patch ----------------------------------------------------------------------------

    private PatchFacts patch(JsonNode root) {
        Instant lastUpdate = lastUpdate(root);
        Integer securityPending = null;
        Instant oldestPending = null;
        if (!failed(root, "pendingError", "patch", "cannot search Windows Update for pending updates") && fresh(root)) {
            int count = 0;
            for (JsonNode u : root.path("pending")) {
                if (!isSecurityUpdate(u)) {
                    continue;
                }
                count++;
                Instant deployed = date(u.get("deployed"), "patch", "pending update LastDeploymentChangeTime");
                if (deployed != null && (oldestPending == null || deployed.isBefore(oldestPending))) {
                    oldestPending = deployed;
                }
            }
            securityPending = count;
        }
        Boolean reboot = null;
        if (!failed(root, "rebootError", "patch", "cannot test the RebootRequired registry key")) {
            JsonNode r = root.get("rebootRequired");
            if (r != null && r.isBoolean()) {
                reboot = r.asBoolean();
            } else {
                errors.add(new CheckError("patch", "rebootRequired: expected true or false, found " + (r == null ? "nothing" : r.toString())));
            }
        }
        return new PatchFacts(lastUpdate, securityPending, oldestPending, reboot);
    }

    private @Nullable Instant lastUpdate(JsonNode root) {
        if (failed(root, "historyError", "patch", "cannot read the Windows Update history")) {
            return null;
        }
        Instant newest = null;
        for (JsonNode h : root.path("history")) {
            Long kb = PsJson.integer(h.get("kb"));
            if (kb != null && ANTIMALWARE_KBS.contains(kb)) {
                continue;
            }
            Instant when = date(h.get("date"), "patch", "update history date");
            if (when != null && (newest == null || when.isAfter(newest))) {
                newest = when;
            }
        }
        if (newest == null) {
            errors.add(new CheckError("patch", "no successful update installation (other than antivirus definitions) in the last "
                    + WindowsScript.HISTORY_ENTRIES + " Windows Update history entries"));
        }
        return newest;
    }

    /** The offline search is only as good as Automatic Updates' last online search. */
    private boolean fresh(JsonNode root) {
        if (failed(root, "autoUpdateError", "patch", "cannot read Microsoft.Update.AutoUpdate results")) {
            return false;
        }
        Instant lastSearch = date(root.path("autoUpdate").get("lastSearchSuccess"), "patch", "LastSearchSuccessDate");
        if (lastSearch == null) {
            errors.add(new CheckError("patch", "Windows Update has never searched for updates successfully; pending security updates are not known"));
            return false;
        }
        if (lastSearch.isBefore(now.minus(MAX_SEARCH_AGE))) {
            errors.add(new CheckError("patch", "Windows Update last searched for updates at " + lastSearch
                    + ", more than " + MAX_SEARCH_AGE.toDays() + " days ago; pending security updates are not known"));
            return false;
        }
        return true;
    }

    /** Security Updates by category GUID: the category's name is localized. */
    static boolean isSecurityUpdate(JsonNode update) {
        for (JsonNode c : update.path("categories")) {
            if (WindowsScript.SECURITY_UPDATES_CATEGORY.equalsIgnoreCase(PsJson.text(c.get("id")))) {
                return true;
            }
        }
        return false;
    }

    // ---- helpers --------------------------------------------------------------------------

    private @Nullable Instant date(JsonNode node, String check, String what) {
        try {
            return PsJson.instant(node);
        } catch (IllegalArgumentException e) {
            errors.add(new CheckError(check, what + ": " + e.getMessage()));
            return null;
        }
    }

    /** Records the script's own report of a failed section; true when there was one. */
    private boolean failed(JsonNode root, String field, String check, String what) {
        JsonNode e = root.get(field);
        if (e == null || e.isNull()) {
            return false;
        }
        Long hresult = PsJson.integer(e.get("hresult"));
        String message = PsJson.text(e.get("message"));
        errors.add(new CheckError(check, what + ": "
                + (hresult == null ? "" : String.format("HRESULT 0x%08X", hresult.intValue()) + " ")
                + (message == null ? "" : message.strip())));
        return true;
    }

    static String abbreviate(String s) {
        String one = s.strip().replaceAll("\\s+", " ");
        return one.length() <= 120 ? one : one.substring(0, 117) + "...";
    }

    private static String quote(String s) {
        return s == null ? "nothing" : "\"" + s + "\"";
    }
}
