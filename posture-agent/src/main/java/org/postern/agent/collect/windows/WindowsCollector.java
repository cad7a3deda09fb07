package org.postern.agent.collect.windows;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.postern.agent.collect.Collector;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;
import org.postern.agent.collect.ProcessCommandRunner;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.PostureClaims;

/**
 * Windows posture through one PowerShell run: BitLocker state of the system drive from WMI
 * ({@code Win32_EncryptableVolume}), the build from the registry ({@code CurrentBuild.UBR}), the
 * last successful update and pending security updates from the Windows Update Agent API, and the
 * {@code RebootRequired} key. Never throws; a failure becomes a {@link CheckError}.
 *
 * <p>Reading BitLocker state through WMI needs an elevated process (the agent's service); run
 * unelevated, the disk section reports "access denied" as a check error.
 */
public final class WindowsCollector implements Collector {
    /** Windows Update's cached search and WMI usually answer in seconds; a cold COM start can take longer. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    static final String POWERSHELL = "powershell.exe";

    private final CommandRunner runner;
    private final Clock clock;
    private final Duration timeout;

    public WindowsCollector(CommandRunner runner, Clock clock, Duration timeout) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    /** Runs for real: {@link ProcessCommandRunner}, the system clock, {@link #DEFAULT_TIMEOUT}. */
    public static WindowsCollector system() {
        return new WindowsCollector(new ProcessCommandRunner(), Clock.systemUTC(), DEFAULT_TIMEOUT);
    }

    /** The command line: no profile, no prompt, the script Base64-encoded (no quoting to go wrong). */
    static List<String> command() {
        return List.of(POWERSHELL, "-NoProfile", "-NonInteractive", "-EncodedCommand", WindowsScript.encoded());
    }

    @Override
    public PostureClaims.Facts collect() {
        CommandRunner.Result result;
        try {
            result = runner.run(command(), timeout);
        } catch (CommandException e) {
            String why = switch (e.kind()) {
                case MISSING -> POWERSHELL + " not found";
                case TIMEOUT -> POWERSHELL + " timed out after " + timeout.toMillis() + " ms";
                case FAILED -> POWERSHELL + " failed: " + e.getMessage();
            };
            return allFailed(why);
        }
        if (result.exitCode() != 0) {
            String detail = WindowsReportParser.abbreviate(result.stderr().isBlank() ? result.stdout() : result.stderr());
            return allFailed(POWERSHELL + " exited with " + result.exitCode() + " (expected 0)"
                    + (detail.isEmpty() ? "" : ": " + detail));
        }
        return WindowsReportParser.parse(result.stdout(), clock.instant());
    }

    private static PostureClaims.Facts allFailed(String why) {
        return new PostureClaims.Facts(null, null, null, PostureClaims.NATIVE,
                List.of(new CheckError("os", why), new CheckError("disk", why), new CheckError("patch", why)));
    }
}
