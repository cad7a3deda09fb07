package org.postern.agent.collect.osquery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

class OsqueryCollectorTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2024-04-20T10:00:00Z"), ZoneOffset.UTC);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    /** Answers {@code osqueryi --json <sql>} from fixtures keyed by the SQL. */
    private static final class FakeOsquery implements CommandRunner {
        final Map<String, Object> answers = new HashMap<>();

        FakeOsquery answer(String sql, String fixture) {
            answers.put(sql, new Result(0, OsqueryFixtures.read(fixture), ""));
            return this;
        }

        FakeOsquery answer(String sql, Object result) {
            answers.put(sql, result);
            return this;
        }

        @Override
        public Result run(List<String> command, Duration timeout) throws CommandException {
            assertThat(command.subList(0, 2)).containsExactly("osqueryi", "--json");
            Object a = answers.get(command.get(2));
            if (a instanceof CommandException e) {
                throw e;
            }
            if (a == null) {
                return new Result(1, "", "Error: no such table: " + command.get(2));
            }
            return (Result) a;
        }
    }

    private static FakeOsquery windows() {
        return new FakeOsquery()
                .answer(OsqueryCollector.OS_VERSION, "windows-os_version.json")
                .answer(OsqueryCollector.KERNEL, "windows-kernel_info.json")
                .answer(OsqueryCollector.REGISTRY, "windows-registry.json")
                .answer(OsqueryCollector.BITLOCKER, "windows-bitlocker_info.json")
                .answer(OsqueryCollector.UPDATE_HISTORY, "windows-windows_update_history.json");
    }

    @Test
    void windows_allFactsOsqueryCanGive_andAnErrorForWhatItCannot() {
        PostureClaims.Facts f = new OsqueryCollector(windows(), CLOCK, TIMEOUT).collect();

        assertThat(f.collector()).isEqualTo(PostureClaims.OSQUERY);
        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.WINDOWS, "Windows 11 Pro", "10.0.22631", "22631.3447", "10.0.22621.3447"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("C:", true, "XTS-AES 128", true, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-04-09T17:12:45Z"), null, null, null));
        assertThat(f.errors()).containsExactly(
                new CheckError("patch", "osquery cannot tell pending security updates or a pending reboot on Windows"));
    }

    @Test
    void windows_unelevated_noBitlockerRow_isDiskError() {
        FakeOsquery runner = windows().answer(OsqueryCollector.BITLOCKER, new CommandRunner.Result(0, "[\n\n]\n", ""));

        PostureClaims.Facts f = new OsqueryCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.disk()).isNull();
        assertThat(f.errors()).contains(new CheckError("disk",
                "bitlocker_info returned no row for C: (no row at all: osquery must run elevated to read BitLocker state)"));
    }

    @Test
    void windows_oldOsqueryWithoutUpdateHistoryTable_isPatchError() {
        FakeOsquery runner = windows();
        runner.answers.remove(OsqueryCollector.UPDATE_HISTORY);

        PostureClaims.Facts f = new OsqueryCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.patch().lastUpdate()).isNull();
        assertThat(f.errors()).first().isEqualTo(new CheckError("patch",
                "osqueryi exited with 1 on windows_update_history (expected 0): Error: no such table: " + OsqueryCollector.UPDATE_HISTORY));
    }

    @Test
    void macos_fileVaultOn() {
        FakeOsquery runner = new FakeOsquery()
                .answer(OsqueryCollector.OS_VERSION, "darwin-os_version.json")
                .answer(OsqueryCollector.KERNEL, "darwin-kernel_info.json")
                .answer(OsqueryCollector.MOUNTS_DARWIN, "darwin-mounts.json")
                .answer(OsqueryCollector.DISK_ENCRYPTION, "darwin-disk_encryption-fv-on.json");

        PostureClaims.Facts f = new OsqueryCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.MACOS, "macOS", "14.4.1", "23E224", "23.4.0"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("/System/Volumes/Data", true, "FileVault", true, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.patch()).isEqualTo(new PatchFacts(null, null, null, null));
        assertThat(f.errors()).containsExactly(new CheckError("patch",
                "osquery cannot tell the last update, pending security updates or a pending reboot on macOS"));
    }

    @Test
    void linux_lvmOnLuks() {
        FakeOsquery runner = new FakeOsquery()
                .answer(OsqueryCollector.OS_VERSION, "linux-os_version.json")
                .answer(OsqueryCollector.KERNEL, "linux-kernel_info.json")
                .answer(OsqueryCollector.MOUNTS_LINUX, "linux-mounts.json")
                .answer(OsqueryCollector.DISK_ENCRYPTION, "linux-disk_encryption-lvm-on-luks.json");

        PostureClaims.Facts f = new OsqueryCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.LINUX, "debian", "12", null, "6.1.0-18-amd64"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("/", true, "LUKS2-aes-xts-plain64", true, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.errors()).containsExactly(new CheckError("patch",
                "osquery cannot tell the last update, pending security updates or a pending reboot on Linux"));
    }

    @Test
    void osqueryiMissing_everyCheckFails() {
        CommandRunner runner = (command, timeout) -> {
            throw new CommandException(CommandException.Kind.MISSING, "osqueryi not found");
        };

        PostureClaims.Facts f = new OsqueryCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.os()).isNull();
        assertThat(f.disk()).isNull();
        assertThat(f.patch()).isNull();
        assertThat(f.errors()).containsExactly(
                new CheckError("os", "osqueryi not found"),
                new CheckError("disk", "OS platform unknown (os_version could not be read)"),
                new CheckError("patch", "OS platform unknown (os_version could not be read)"));
    }

    @Test
    void diskQueryTimesOut_errorNamesTableAndLimit() {
        FakeOsquery runner = windows().answer(OsqueryCollector.BITLOCKER,
                new CommandException(CommandException.Kind.TIMEOUT, "osqueryi --json ... timed out after 15000 ms"));

        PostureClaims.Facts f = new OsqueryCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.disk()).isNull();
        assertThat(f.errors()).contains(new CheckError("disk", "osqueryi timed out after 15000 ms on bitlocker_info"));
    }

    @Test
    void system_buildsWithoutRunningAnything() {
        assertThat(OsqueryCollector.system()).isNotNull();
    }
}
