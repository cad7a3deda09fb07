package org.postern.agent.collect.osquery;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.postern.agent.collect.Collector;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;
import org.postern.agent.collect.ProcessCommandRunner;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

/**
 * Posture through {@code osqueryi --json "<sql>"}, one query per table, on Windows, macOS and
 * Linux. Every value osquery returns is a JSON string ("1", "encrypted"): {@link OsqueryRows}
 * converts them where used. Never throws; a failure becomes a {@link CheckError}.
 *
 * <p>What osquery cannot tell, left null with a check error (so this collector never passes a
 * patch check on its own): pending security updates and a pending reboot on every OS, and the
 * last update time on macOS and Linux. On Windows the last update comes from
 * {@code windows_update_history} (osquery 5.x; it converts Windows Update's UTC dates as if they
 * were local, so the time may be off by the zone offset). FileVault conversion progress is not
 * visible either: FileVault "on" is reported as fully encrypted.
 */
public final class OsqueryCollector implements Collector {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);

    static final String OS_VERSION = "SELECT * FROM os_version;";
    static final String KERNEL = "SELECT version FROM kernel_info;";
    static final String REGISTRY = "SELECT name, data FROM registry WHERE key = "
            + "'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' AND name IN ('UBR', 'SystemRoot');";
    static final String BITLOCKER = "SELECT drive_letter, protection_status, conversion_status, encryption_method, "
            + "percentage_encrypted FROM bitlocker_info;";
    static final String UPDATE_HISTORY = "SELECT date, title FROM windows_update_history "
            + "WHERE operation = 'Installation' AND result_code = 'Succeeded';";
    static final String MOUNTS_DARWIN = "SELECT path, device FROM mounts WHERE path IN ('/', '/System/Volumes/Data');";
    static final String MOUNTS_LINUX = "SELECT path, device, device_alias FROM mounts WHERE path = '/';";
    /** Unconstrained on purpose: with a name constraint osquery's Linux table skips the parent walk that LVM-on-LUKS needs. */
    static final String DISK_ENCRYPTION = "SELECT * FROM disk_encryption;";

    private final CommandRunner runner;
    /** Unused today (osquery's dates are absolute); taken like the other collectors so callers wire them alike. */
    @SuppressWarnings("unused")
    private final Clock clock;
    private final Duration timeout;
    private final String osqueryi;

    /** @param osqueryi the program: "osqueryi" from the PATH, or an absolute path */
    public OsqueryCollector(CommandRunner runner, Clock clock, Duration timeout, String osqueryi) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.osqueryi = Objects.requireNonNull(osqueryi, "osqueryi");
    }

    public OsqueryCollector(CommandRunner runner, Clock clock, Duration timeout) {
        this(runner, clock, timeout, "osqueryi");
    }

    /** Runs for real: {@code osqueryi} from the PATH, {@link ProcessCommandRunner}, {@link #DEFAULT_TIMEOUT}. */
    public static OsqueryCollector system() {
        return new OsqueryCollector(new ProcessCommandRunner(), Clock.systemUTC(), DEFAULT_TIMEOUT);
    }

    @Override
    public PostureClaims.Facts collect() {
        List<CheckError> errors = new ArrayList<>();
        List<Map<String, String>> osVersion = query(OS_VERSION, "os", errors);
        String family = null;
        if (osVersion != null) {
            try {
                if (osVersion.isEmpty()) {
                    throw new IllegalArgumentException("os_version returned no row");
                }
                family = OsqueryFacts.family(osVersion.getFirst());
            } catch (IllegalArgumentException e) {
                errors.add(new CheckError("os", e.getMessage()));
            }
        }
        if (family == null) {
            String why = "OS platform unknown (os_version could not be read)";
            errors.add(new CheckError("disk", why));
            errors.add(new CheckError("patch", why));
            return new PostureClaims.Facts(null, null, null, PostureClaims.OSQUERY, errors);
        }
        String kernel = kernel(errors);
        return switch (family) {
            case OsFacts.WINDOWS -> windows(osVersion.getFirst(), kernel, errors);
            case OsFacts.MACOS -> macos(osVersion.getFirst(), kernel, errors);
            default -> linux(osVersion.getFirst(), kernel, errors);
        };
    }

    private PostureClaims.Facts windows(Map<String, String> osVersion, String kernel, List<CheckError> errors) {
        List<Map<String, String>> registry = query(REGISTRY, "os", errors);
        String ubr = registry == null ? null : OsqueryFacts.registryValue(registry, "UBR");
        if (registry != null && (ubr == null || !ubr.matches("\\d+"))) {
            errors.add(new CheckError("os", "registry UBR: expected a number like 3447, found " + (ubr == null ? "nothing" : "\"" + ubr + "\"")));
            ubr = null;
        }
        OsFacts os = OsqueryFacts.os(osVersion, kernel, ubr);

        DiskFacts disk = null;
        List<Map<String, String>> bitlocker = registry == null ? null : query(BITLOCKER, "disk", errors);
        if (registry == null) {
            errors.add(new CheckError("disk", "system drive unknown (registry could not be read)"));
        } else if (bitlocker != null) {
            try {
                disk = OsqueryFacts.bitlocker(bitlocker, OsqueryFacts.systemDrive(registry));
            } catch (IllegalArgumentException e) {
                errors.add(new CheckError("disk", e.getMessage()));
            }
        }

        Instant lastUpdate = null;
        List<Map<String, String>> history = query(UPDATE_HISTORY, "patch", errors);
        if (history != null) {
            lastUpdate = OsqueryFacts.lastWindowsUpdate(history);
            if (lastUpdate == null) {
                errors.add(new CheckError("patch", "windows_update_history has no successful installation other than antivirus definitions"));
            }
        }
        errors.add(new CheckError("patch", "osquery cannot tell pending security updates or a pending reboot on Windows"));
        return new PostureClaims.Facts(os, disk, new PatchFacts(lastUpdate, null, null, null), PostureClaims.OSQUERY, errors);
    }

    private PostureClaims.Facts macos(Map<String, String> osVersion, String kernel, List<CheckError> errors) {
        OsFacts os = OsqueryFacts.os(osVersion, kernel, null);
        DiskFacts disk = null;
        List<Map<String, String>> mounts = query(MOUNTS_DARWIN, "disk", errors);
        List<Map<String, String>> encryption = mounts == null ? null : query(DISK_ENCRYPTION, "disk", errors);
        if (encryption != null) {
            try {
                disk = OsqueryFacts.filevault(mounts, encryption);
            } catch (IllegalArgumentException e) {
                errors.add(new CheckError("disk", e.getMessage()));
            }
        }
        errors.add(new CheckError("patch", "osquery cannot tell the last update, pending security updates or a pending reboot on macOS"));
        return new PostureClaims.Facts(os, disk, new PatchFacts(null, null, null, null), PostureClaims.OSQUERY, errors);
    }

    private PostureClaims.Facts linux(Map<String, String> osVersion, String kernel, List<CheckError> errors) {
        OsFacts os = OsqueryFacts.os(osVersion, kernel, null);
        DiskFacts disk = null;
        List<Map<String, String>> mounts = query(MOUNTS_LINUX, "disk", errors);
        List<Map<String, String>> encryption = mounts == null ? null : query(DISK_ENCRYPTION, "disk", errors);
        if (encryption != null) {
            try {
                disk = OsqueryFacts.luks(mounts, encryption);
            } catch (IllegalArgumentException e) {
                errors.add(new CheckError("disk", e.getMessage()));
            }
        }
        errors.add(new CheckError("patch", "osquery cannot tell the last update, pending security updates or a pending reboot on Linux"));
        return new PostureClaims.Facts(os, disk, new PatchFacts(null, null, null, null), PostureClaims.OSQUERY, errors);
    }

    private String kernel(List<CheckError> errors) {
        List<Map<String, String>> rows = query(KERNEL, "os", errors);
        String version = rows == null || rows.isEmpty() ? null : OsqueryRows.text(rows.getFirst(), "version");
        if (rows != null && version == null) {
            errors.add(new CheckError("os", "kernel_info returned no version"));
        }
        return version;
    }

    /** Rows of one query, or null after recording why there are none. */
    private @Nullable List<Map<String, String>> query(String sql, String check, List<CheckError> errors) {
        String table = sql.replaceFirst("(?s).*? FROM (\\w+).*", "$1");
        try {
            CommandRunner.Result r = runner.run(List.of(osqueryi, "--json", sql), timeout);
            if (r.exitCode() != 0) {
                String detail = r.stderr().isBlank() ? r.stdout() : r.stderr();
                errors.add(new CheckError(check, "osqueryi exited with " + r.exitCode() + " on " + table + " (expected 0): "
                        + detail.strip().replaceAll("\\s+", " ")));
                return null;
            }
            return OsqueryRows.parse(r.stdout());
        } catch (CommandException e) {
            errors.add(new CheckError(check, switch (e.kind()) {
                case MISSING -> osqueryi + " not found";
                case TIMEOUT -> osqueryi + " timed out after " + timeout.toMillis() + " ms on " + table;
                case FAILED -> osqueryi + " failed on " + table + ": " + e.getMessage();
            }));
            return null;
        } catch (IllegalArgumentException e) {
            errors.add(new CheckError(check, "osqueryi on " + table + ": " + e.getMessage()));
            return null;
        }
    }
}
