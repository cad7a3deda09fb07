package org.postern.agent.collect.macos;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
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

class MacosCollectorTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2024-04-20T10:00:00Z"), ZoneId.of("Europe/Paris"));
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Duration SU_TIMEOUT = Duration.ofSeconds(120);

    /** Answers each known command from a table; anything else is a missing program. */
    private static final class FakeRunner implements CommandRunner {
        final Map<List<String>, Object> answers = new HashMap<>();
        final Map<List<String>, Duration> timeouts = new HashMap<>();

        FakeRunner answer(List<String> command, int exit, String stdout, String stderr) {
            answers.put(command, new Result(exit, stdout, stderr));
            return this;
        }

        FakeRunner fail(List<String> command, CommandException e) {
            answers.put(command, e);
            return this;
        }

        @Override
        public Result run(List<String> command, Duration timeout) throws CommandException {
            timeouts.put(command, timeout);
            Object a = answers.get(command);
            if (a instanceof CommandException e) {
                throw e;
            }
            if (a == null) {
                throw new CommandException(CommandException.Kind.MISSING, command.getFirst() + " not found");
            }
            return (Result) a;
        }
    }

    private static FakeRunner healthyMac() {
        return new FakeRunner()
                .answer(MacosCollector.FDESETUP, 0, MacFixtures.read("fdesetup-on.txt"), "")
                .answer(MacosCollector.SW_VERS, 0, MacFixtures.read("sw_vers-14.txt"), "")
                .answer(MacosCollector.UNAME, 0, "23.4.0\n", "")
                .answer(MacosCollector.SU_LIST, 1, MacFixtures.read("softwareupdate-list-none.stdout.txt"),
                        MacFixtures.read("softwareupdate-list-none.stderr.txt"))
                .answer(MacosCollector.SU_HISTORY, 0, MacFixtures.read("softwareupdate-history.txt"), "");
    }

    @Test
    void collect_healthyMac_allFactsNoErrors() {
        FakeRunner runner = healthyMac();

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.errors()).isEmpty();
        assertThat(f.collector()).isEqualTo(PostureClaims.NATIVE);
        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.MACOS, "macOS", "14.4.1", "23E224", "23.4.0"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("/", true, "FileVault", true, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-03-28T20:12:13Z"), 0, null, null));
        assertThat(runner.timeouts.get(MacosCollector.SU_LIST)).isEqualTo(SU_TIMEOUT);
        assertThat(runner.timeouts.get(MacosCollector.FDESETUP)).isEqualTo(TIMEOUT);
    }

    @Test
    void collect_pendingUpdates_countedAgainstInstalledRelease() {
        FakeRunner runner = healthyMac().answer(MacosCollector.SU_LIST, 0, MacFixtures.read("softwareupdate-list-new.txt"), "");

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.patch().securityPending()).isEqualTo(1);
    }

    @Test
    void collect_deferredFileVault_notProtected() {
        FakeRunner runner = healthyMac().answer(MacosCollector.FDESETUP, 0, MacFixtures.read("fdesetup-deferred-off.txt"), "");

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.disk().protectionOn()).isFalse();
        assertThat(f.errors()).isEmpty();
    }

    @Test
    void collect_fdesetupTimesOut_diskErrorNamesCommandAndLimit_restStillCollected() {
        FakeRunner runner = healthyMac().fail(MacosCollector.FDESETUP,
                new CommandException(CommandException.Kind.TIMEOUT, "/usr/bin/fdesetup status timed out after 10000 ms"));

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.disk()).isNull();
        assertThat(f.errors()).containsExactly(new CheckError("disk", "fdesetup status timed out after 10000 ms"));
        assertThat(f.os().version()).isEqualTo("14.4.1");
    }

    @Test
    void collect_softwareupdateMissing_patchErrors() {
        FakeRunner runner = healthyMac();
        runner.answers.remove(MacosCollector.SU_LIST);
        runner.answers.remove(MacosCollector.SU_HISTORY);

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.patch()).isEqualTo(new PatchFacts(null, null, null, null));
        assertThat(f.errors()).containsExactly(
                new CheckError("patch", "/usr/sbin/softwareupdate not found"),
                new CheckError("patch", "/usr/sbin/softwareupdate not found"));
    }

    @Test
    void collect_fdesetupNonZeroExit_isError() {
        FakeRunner runner = healthyMac().answer(MacosCollector.FDESETUP, 1, "", "Error: Unable to get FileVault status.\n");

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.errors()).containsExactly(new CheckError("disk",
                "fdesetup status exited with 1 (expected 0): \"Error: Unable to get FileVault status.\""));
    }

    @Test
    void collect_emptyHistory_lastUpdateUnknownWithError() {
        FakeRunner runner = healthyMac().answer(MacosCollector.SU_HISTORY, 0, MacFixtures.read("softwareupdate-history-empty.txt"), "");

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.patch().lastUpdate()).isNull();
        assertThat(f.errors()).containsExactly(new CheckError("patch", "softwareupdate --history lists no macOS update"));
    }

    @Test
    void collect_oldMac_swVersOldFormat_oldListFormat() {
        FakeRunner runner = healthyMac()
                .answer(MacosCollector.SW_VERS, 0, MacFixtures.read("sw_vers-10.15.txt"), "")
                .answer(MacosCollector.UNAME, 0, "19.6.0\n", "")
                .answer(MacosCollector.SU_LIST, 0, MacFixtures.read("softwareupdate-list-old.txt"), "");

        PostureClaims.Facts f = new MacosCollector(runner, CLOCK, TIMEOUT, SU_TIMEOUT).collect();

        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.MACOS, "Mac OS X", "10.15.7", "19H2026", "19.6.0"));
        // 10.13 updates on a 10.15 machine: the Security Update still counts, the 10.13 supplemental does not
        assertThat(f.patch().securityPending()).isEqualTo(1);
    }

    @Test
    void system_buildsWithoutRunningAnything() {
        assertThat(MacosCollector.system()).isNotNull();
    }
}
