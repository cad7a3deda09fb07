package org.postern.agent.collect.linux;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.jspecify.annotations.Nullable;
import org.postern.agent.collect.Collector;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.ProcessCommandRunner;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

/**
 * The native Linux collector: disk encryption of the device behind {@code /} (sysfs
 * device-mapper stack, lsblk as a cross-check), the distribution and kernel, and the patch level
 * from apt or dnf.
 *
 * <p>Everything is read below {@code root} — {@code /} on a machine, a fixture tree in tests — and
 * every external command goes through the {@link CommandRunner} with a timeout. A check that cannot
 * run leaves its facts null and adds a {@link CheckError}; {@link #collect()} never throws for what
 * it finds on the machine.
 *
 * <p>Not covered: LUKS2 online (re)encryption in progress reads as fully encrypted once the top
 * device is a LUKS2 mapping; ZFS native encryption and file-system-level encryption (fscrypt) are
 * not recognised and read as unknown or clear; dnf 5's {@code history list} format is not parsed.
 */
public final class LinuxCollector implements Collector {

    /**
     * How long each kind of command may take: {@code probe} for quick reads ({@code uname},
     * {@code lsblk}), {@code packageManager} for apt-get and dnf, which load the package lists.
     */
    public record Timeouts(Duration probe, Duration packageManager) {
        public static final Timeouts DEFAULTS = new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(20));

        public Timeouts {
            Objects.requireNonNull(probe, "probe");
            Objects.requireNonNull(packageManager, "packageManager");
            if (probe.isNegative() || probe.isZero() || packageManager.isNegative() || packageManager.isZero()) {
                throw new IllegalArgumentException("timeouts must be positive, found probe=" + probe
                        + " packageManager=" + packageManager);
            }
        }
    }

    private final DiskCheck disk;
    private final OsCheck os;
    private final PatchCheck patch;

    /**
     * @param root      where the machine's file system starts ({@code /} in production)
     * @param runner    runs {@code uname}, {@code lsblk}, {@code apt-get}, {@code dnf}
     * @param clock     its zone interprets the local times apt and dnf write in their logs
     * @param timeouts  bounds for the commands
     */
    public LinuxCollector(Path root, CommandRunner runner, Clock clock, Timeouts timeouts) {
        this(root, runner, clock, timeouts, null);
    }

    /**
     * @param aptLedger where to remember pending apt security updates between runs (their first
     *                  sighting, and the last answer while packages are unchanged); null for none
     */
    public LinuxCollector(Path root, CommandRunner runner, Clock clock, Timeouts timeouts, @Nullable Path aptLedger) {
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(runner, "runner");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(timeouts, "timeouts");
        RootFs fs = new RootFs(root);
        this.disk = new DiskCheck(fs, runner, timeouts.probe());
        this.os = new OsCheck(fs, runner, timeouts.probe());
        this.patch = new PatchCheck(fs, runner, clock, timeouts.packageManager(),
                aptLedger == null ? null : new AptLedger(aptLedger, fs, clock));
    }

    /** This machine: root {@code /}, real processes, the system clock and zone, default timeouts. */
    public static LinuxCollector system() {
        return new LinuxCollector(Path.of("/"), new ProcessCommandRunner(), Clock.systemDefaultZone(), Timeouts.DEFAULTS);
    }

    /** This machine, remembering apt's pending updates in {@code stateDir/apt-pending.json}. */
    public static LinuxCollector system(Path stateDir) {
        return new LinuxCollector(Path.of("/"), new ProcessCommandRunner(), Clock.systemDefaultZone(), Timeouts.DEFAULTS,
                stateDir.resolve("apt-pending.json"));
    }

    @Override
    public PostureClaims.Facts collect() {
        List<CheckError> errors = new ArrayList<>();
        OsFacts osFacts = guarded(OsCheck.CHECK, errors, () -> os.collect(errors), new OsFacts(OsFacts.LINUX, null, null, null, null));
        DiskFacts diskFacts = guarded(DiskCheck.CHECK, errors, () -> disk.collect(errors), new DiskFacts(null, null, null, null, null, null));
        PatchFacts patchFacts = guarded(PatchCheck.CHECK, errors, () -> patch.collect(errors), new PatchFacts(null, null, null, null));
        return new PostureClaims.Facts(osFacts, diskFacts, patchFacts, PostureClaims.NATIVE, errors);
    }

    /**
     * A bug in a check (an unexpected runtime exception on some odd machine) must not cost the
     * other checks, nor pass: it becomes that check's error and its facts stay unknown.
     */
    private static <T> T guarded(String check, List<CheckError> errors, java.util.function.Supplier<T> body, T unknown) {
        try {
            return body.get();
        } catch (RuntimeException e) {
            errors.add(new CheckError(check, "internal error: " + e));
            return unknown;
        }
    }
}
