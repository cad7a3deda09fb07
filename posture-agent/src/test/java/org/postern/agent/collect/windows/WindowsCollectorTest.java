package org.postern.agent.collect.windows;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.PostureClaims;

class WindowsCollectorTest {
    private static final Clock CLOCK = Clock.fixed(WindowsReportParserTest.NOW, ZoneOffset.UTC);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void collect_runsOnePowerShellWithTheEncodedScript_andParsesItsJson() {
        List<List<String>> calls = new ArrayList<>();
        CommandRunner runner = (command, timeout) -> {
            calls.add(command);
            assertThat(timeout).isEqualTo(TIMEOUT);
            return new CommandRunner.Result(0, WindowsReportParserTest.fixture("de-fully-encrypted-ps51.json"), "");
        };

        PostureClaims.Facts f = new WindowsCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(calls).hasSize(1);
        List<String> cmd = calls.getFirst();
        assertThat(cmd.subList(0, 4)).containsExactly("powershell.exe", "-NoProfile", "-NonInteractive", "-EncodedCommand");
        String script = new String(Base64.getDecoder().decode(cmd.get(4)), StandardCharsets.UTF_16LE);
        assertThat(script).isEqualTo(WindowsScript.SCRIPT)
                .contains("Win32_EncryptableVolume", "GetProtectionStatus", "GetConversionStatus", "GetEncryptionMethod",
                        "QueryHistory(0, [Math]::Min($n, 200))", "ConvertTo-Json -Depth 5 -Compress",
                        "HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
                        "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired");
        assertThat(f.errors()).isEmpty();
        assertThat(f.disk().conversion()).isEqualTo(DiskFacts.FULLY_ENCRYPTED);
        assertThat(f.patch().oldestPendingSince()).isEqualTo(Instant.parse("2024-04-09T00:00:00Z"));
    }

    @Test
    void collect_powershellMissing_everyCheckFailsSayingSo() {
        CommandRunner runner = (command, timeout) -> {
            throw new CommandException(CommandException.Kind.MISSING, "powershell.exe not found");
        };

        PostureClaims.Facts f = new WindowsCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.os()).isNull();
        assertThat(f.disk()).isNull();
        assertThat(f.patch()).isNull();
        assertThat(f.errors()).containsExactly(
                new CheckError("os", "powershell.exe not found"),
                new CheckError("disk", "powershell.exe not found"),
                new CheckError("patch", "powershell.exe not found"));
    }

    @Test
    void collect_powershellTimesOut_errorNamesTheTimeoutNotTheEncodedScript() {
        CommandRunner runner = (command, timeout) -> {
            throw new CommandException(CommandException.Kind.TIMEOUT, String.join(" ", command) + " timed out after 60000 ms");
        };

        PostureClaims.Facts f = new WindowsCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.errors()).extracting(CheckError::why).containsOnly("powershell.exe timed out after 60000 ms");
        assertThat(f.errors()).hasSize(3);
    }

    @Test
    void collect_nonZeroExit_isErrorWithStderr() {
        CommandRunner runner = (command, timeout) -> new CommandRunner.Result(1, "",
                "Die Benennung \"Get-CimInstance\" wurde nicht als Name eines Cmdlet erkannt.\r\n");

        PostureClaims.Facts f = new WindowsCollector(runner, CLOCK, TIMEOUT).collect();

        assertThat(f.errors()).extracting(CheckError::why).containsOnly(
                "powershell.exe exited with 1 (expected 0): Die Benennung \"Get-CimInstance\" wurde nicht als Name eines Cmdlet erkannt.");
    }

    @Test
    void system_buildsWithoutRunningAnything() {
        assertThat(WindowsCollector.system()).isNotNull();
    }
}
