package org.postern.agent.collect.macos;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
 * macOS posture from Apple's own tools, by absolute path (no PATH lookup): {@code fdesetup status}
 * for FileVault, {@code sw_vers} and {@code uname -r} for the OS, {@code softwareupdate --list}
 * for pending security updates and {@code softwareupdate --history} for the last OS update. None
 * needs root. Never throws; a failure becomes a {@link CheckError}.
 *
 * <p>What macOS cannot tell: since when an update has been pending ({@code oldestPendingSince}
 * stays null) and whether an installed update waits for a restart ({@code rebootRequired} stays
 * null: macOS installs "restart" updates during the restart itself).
 */
public final class MacosCollector implements Collector {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /** {@code softwareupdate --list} asks Apple's servers; it can take a minute on a slow network. */
    public static final Duration DEFAULT_SOFTWAREUPDATE_TIMEOUT = Duration.ofSeconds(120);

    static final List<String> FDESETUP = List.of("/usr/bin/fdesetup", "status");
    static final List<String> SW_VERS = List.of("/usr/bin/sw_vers");
    static final List<String> UNAME = List.of("/usr/bin/uname", "-r");
    static final List<String> SU_LIST = List.of("/usr/sbin/softwareupdate", "--list");
    static final List<String> SU_HISTORY = List.of("/usr/sbin/softwareupdate", "--history");

    private final CommandRunner runner;
    private final Clock clock;
    private final Duration timeout;
    private final Duration softwareUpdateTimeout;

    /**
     * @param clock its zone reads {@code softwareupdate --history}'s local times: give the
     *        machine's zone ({@link Clock#systemDefaultZone()})
     */
    public MacosCollector(CommandRunner runner, Clock clock, Duration timeout, Duration softwareUpdateTimeout) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.softwareUpdateTimeout = Objects.requireNonNull(softwareUpdateTimeout, "softwareUpdateTimeout");
    }

    /** Runs for real: {@link ProcessCommandRunner}, the system clock in the machine's zone, default timeouts. */
    public static MacosCollector system() {
        return new MacosCollector(new ProcessCommandRunner(), Clock.systemDefaultZone(), DEFAULT_TIMEOUT, DEFAULT_SOFTWAREUPDATE_TIMEOUT);
    }

    @Override
    public PostureClaims.Facts collect() {
        List<CheckError> errors = new ArrayList<>();
        DiskFacts disk = disk(errors);
        SwVersParser.SwVers sw = swVers(errors);
        String kernel = kernel(errors);
        OsFacts os = new OsFacts(OsFacts.MACOS, sw == null ? null : sw.productName(), sw == null ? null : sw.productVersion(),
                sw == null ? null : sw.buildVersion(), kernel);
        PatchFacts patch = new PatchFacts(lastUpdate(errors), securityPending(errors, sw), null, null);
        return new PostureClaims.Facts(os, disk, patch, PostureClaims.NATIVE, errors);
    }

    private @Nullable DiskFacts disk(List<CheckError> errors) {
        CommandRunner.Result r = run(FDESETUP, timeout, "disk", errors, false);
        if (r == null) {
            return null;
        }
        try {
            return FdesetupParser.parse(r.stdout() + "\n" + r.stderr());
        } catch (IllegalArgumentException e) {
            errors.add(new CheckError("disk", e.getMessage()));
            return null;
        }
    }

    private SwVersParser.@Nullable SwVers swVers(List<CheckError> errors) {
        CommandRunner.Result r = run(SW_VERS, timeout, "os", errors, false);
        if (r == null) {
            return null;
        }
        try {
            return SwVersParser.parse(r.stdout());
        } catch (IllegalArgumentException e) {
            errors.add(new CheckError("os", e.getMessage()));
            return null;
        }
    }

    private @Nullable String kernel(List<CheckError> errors) {
        CommandRunner.Result r = run(UNAME, timeout, "os", errors, false);
        if (r == null) {
            return null;
        }
        String release = r.stdout().strip();
        if (!release.matches("\\d+(\\.\\d+)*")) {
            errors.add(new CheckError("os", "uname -r: expected a release like 23.4.0, found " + MacText.quote(release)));
            return null;
        }
        return release;
    }

    private @Nullable Integer securityPending(List<CheckError> errors, SwVersParser.SwVers sw) {
        CommandRunner.Result r = run(SU_LIST, softwareUpdateTimeout, "patch", errors, true);
        if (r == null) {
            return null;
        }
        try {
            return SoftwareUpdateListParser.securityPending(r.exitCode(), r.stdout(), r.stderr(), sw == null ? null : sw.major());
        } catch (IllegalArgumentException e) {
            errors.add(new CheckError("patch", e.getMessage()));
            return null;
        }
    }

    private @Nullable Instant lastUpdate(List<CheckError> errors) {
        CommandRunner.Result r = run(SU_HISTORY, timeout, "patch", errors, false);
        if (r == null) {
            return null;
        }
        try {
            Instant last = SoftwareUpdateHistoryParser.lastOsUpdate(r.stdout(), clock.getZone());
            if (last == null) {
                errors.add(new CheckError("patch", "softwareupdate --history lists no macOS update"));
            }
            return last;
        } catch (IllegalArgumentException e) {
            errors.add(new CheckError("patch", e.getMessage()));
            return null;
        }
    }

    /**
     * Runs one command; on failure records a check error and returns null. {@code anyExit}: the
     * tool's exit code is judged by its parser (softwareupdate exits 1 with nothing to install).
     */
    private CommandRunner.@Nullable Result run(List<String> command, Duration limit, String check, List<CheckError> errors, boolean anyExit) {
        String name = command.getFirst().substring(command.getFirst().lastIndexOf('/') + 1)
                + (command.size() > 1 ? " " + String.join(" ", command.subList(1, command.size())) : "");
        try {
            CommandRunner.Result r = runner.run(command, limit);
            if (r.exitCode() != 0 && !anyExit) {
                errors.add(new CheckError(check, name + " exited with " + r.exitCode() + " (expected 0): "
                        + MacText.quote(r.stderr().isBlank() ? r.stdout() : r.stderr())));
                return null;
            }
            return r;
        } catch (CommandException e) {
            errors.add(new CheckError(check, switch (e.kind()) {
                case MISSING -> command.getFirst() + " not found";
                case TIMEOUT -> name + " timed out after " + limit.toMillis() + " ms";
                case FAILED -> name + " failed: " + e.getMessage();
            }));
            return null;
        }
    }
}
