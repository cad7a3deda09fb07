package org.postern.agent.collect.linux;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.jspecify.annotations.Nullable;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.PatchFacts;

/**
 * Patch level from the package manager: apt when {@code apt-get} runs, else dnf.
 *
 * <p><b>apt.</b> Pending security updates come from a simulated {@code dist-upgrade}
 * ({@code -s}: nothing is changed, and {@code Debug::NoLocking} lets it run without root while
 * apt itself holds its lock). {@code dist-upgrade} rather than {@code upgrade}: a Debian kernel
 * security update installs a new {@code linux-image-<abi>} package, which {@code upgrade} keeps
 * back and would hide. It reads the package lists already on disk; keeping them fresh is apt's
 * daily timer's job, not the agent's. The last update is the latest completed {@code Upgrade:} in
 * {@code /var/log/apt/history.log} and its rotations, or the time of
 * {@code /var/lib/apt/periodic/upgrade-stamp} if later: apt.systemd.daily touches that stamp
 * after unattended-upgrade ran successfully, even when nothing needed installing.
 * {@code update-success-stamp} is not used: it marks a refresh of the package lists
 * ({@code apt-get update}), which installs nothing.
 *
 * <p><b>Oldest pending on apt: left null.</b> apt records no publication date for a version. The
 * times at hand — the mtime or {@code Date:} of a security {@code InRelease} file — are when the
 * lists were fetched or the archive was last signed: both are later than the day the oldest
 * update appeared, so they would understate how long it has waited, which errs on the side of
 * passing. Null says "unknown"; the evaluator must then judge a pending count above zero
 * without a date conservatively.
 *
 * <p><b>dnf.</b> {@code dnf updateinfo list --security} for pending advisories (with issue dates
 * in dnf 5's table), {@code dnf history list} for the last upgrade. Both run with {@code -C}
 * (cache only): no network from the agent, and no wait for a metadata download; dnf-makecache's
 * timer keeps the cache fresh. A reboot is required when {@code dnf needs-restarting -r} exits 1.
 *
 * <p>{@code /run/reboot-required} (also reached as {@code /var/run/reboot-required}) is written by
 * Debian and Ubuntu package hooks (update-notifier-common, unattended-upgrades, kernel postinst).
 */
final class PatchCheck {
    static final String CHECK = "patch";
    static final List<String> APT_GET = List.of("apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade");
    static final List<String> DNF_SECURITY = List.of("dnf", "-C", "-q", "updateinfo", "list", "--security");
    static final List<String> DNF_HISTORY = List.of("dnf", "-C", "-q", "history", "list");
    static final List<String> DNF_NEEDS_RESTARTING = List.of("dnf", "-C", "-q", "needs-restarting", "-r");
    private static final int MAX_ROTATIONS = 24;

    private final RootFs fs;
    private final CommandRunner runner;
    private final Clock clock;
    private final Duration timeout;

    private final AptLedger ledger;

    PatchCheck(RootFs fs, CommandRunner runner, Clock clock, Duration timeout, AptLedger ledger) {
        this.ledger = ledger;
        this.fs = fs;
        this.runner = runner;
        this.clock = clock;
        this.timeout = timeout;
    }

    PatchFacts collect(List<CheckError> errors) {
        String key = null;
        if (ledger != null && fs.exists("var/lib/dpkg/status")) {
            try {
                key = ledger.stateKey();
                var known = ledger.known(key);
                if (known.isPresent()) {
                    return new PatchFacts(aptLastUpdate(errors), known.get().count(), known.get().oldestSince(), rebootFile());
                }
            } catch (IOException e) {
                key = null; // no ledger this time; apt answers below
            }
        }
        CommandRunner.Result apt;
        try {
            apt = runner.run(APT_GET, timeout);
        } catch (CommandException e) {
            if (e.kind() != CommandException.Kind.MISSING) {
                errors.add(new CheckError(CHECK, failure(APT_GET, e)));
                return new PatchFacts(aptLastUpdate(errors), null, null, rebootFile());
            }
            return dnf(errors);
        }
        Integer pending = null;
        Instant since = null;
        if (apt.exitCode() == 0) {
            List<String> security = AptSimulation.parse(apt.stdout()).security();
            pending = security.size();
            if (key != null) {
                try {
                    since = ledger.record(key, security);
                } catch (IOException e) {
                    since = null; // age unknown: the evaluator fails closed on it
                }
            }
        } else {
            errors.add(new CheckError(CHECK, exited(APT_GET, apt)));
        }
        return new PatchFacts(aptLastUpdate(errors), pending, since, rebootFile());
    }

    private PatchFacts dnf(List<CheckError> errors) {
        CommandRunner.Result list;
        try {
            list = runner.run(DNF_SECURITY, timeout);
        } catch (CommandException e) {
            errors.add(new CheckError(CHECK, e.kind() == CommandException.Kind.MISSING
                    ? "apt-get not found and dnf not found" : failure(DNF_SECURITY, e)));
            return new PatchFacts(null, null, null, null);
        }
        Integer pending = null;
        Instant oldest = null;
        if (list.exitCode() == 0) {
            Dnf.Pending p = Dnf.securityList(list.stdout());
            pending = p.count();
            oldest = p.count() == 0 ? null : p.oldestIssued().map(this::instant).orElse(null);
        } else {
            errors.add(new CheckError(CHECK, exited(DNF_SECURITY, list)));
        }
        Instant last = null;
        try {
            CommandRunner.Result h = runner.run(DNF_HISTORY, timeout);
            if (h.exitCode() == 0) {
                last = Dnf.lastUpgrade(h.stdout()).map(this::instant).orElse(null);
                if (last == null) {
                    errors.add(new CheckError(CHECK, "dnf history list shows no completed upgrade"));
                }
            } else {
                errors.add(new CheckError(CHECK, exited(DNF_HISTORY, h)));
            }
        } catch (CommandException e) {
            errors.add(new CheckError(CHECK, failure(DNF_HISTORY, e)));
        }
        return new PatchFacts(last, pending, oldest, dnfReboot(errors));
    }

    private @Nullable Boolean dnfReboot(List<CheckError> errors) {
        if (rebootFile()) {
            return true;
        }
        try {
            CommandRunner.Result r = runner.run(DNF_NEEDS_RESTARTING, timeout);
            return switch (r.exitCode()) {
                case 0 -> false;
                case 1 -> true;
                default -> {
                    errors.add(new CheckError(CHECK, exited(DNF_NEEDS_RESTARTING, r)));
                    yield null;
                }
            };
        } catch (CommandException e) {
            errors.add(new CheckError(CHECK, failure(DNF_NEEDS_RESTARTING, e)));
            return null;
        }
    }

    private boolean rebootFile() {
        return fs.exists("run/reboot-required") || fs.exists("var/run/reboot-required");
    }

    private Instant aptLastUpdate(List<CheckError> errors) {
        List<String> problems = new ArrayList<>();
        Optional<LocalDateTime> fromHistory = Optional.empty();
        for (String log : historyLogs()) {
            try {
                String text = log.endsWith(".gz") ? fs.readGzip(log) : fs.read(log).orElse("");
                Optional<LocalDateTime> t = AptHistory.lastUpgrade(text);
                if (t.isPresent() && (fromHistory.isEmpty() || t.get().isAfter(fromHistory.get()))) {
                    fromHistory = t;
                }
            } catch (IOException e) {
                problems.add("cannot read " + RootFs.show(log) + ": " + e);
            }
        }
        Optional<Instant> stamp = fs.mtime("var/lib/apt/periodic/upgrade-stamp").map(t -> t.toInstant());
        Instant last = fromHistory.map(this::instant).orElse(null);
        if (stamp.isPresent() && (last == null || stamp.get().isAfter(last))) {
            last = stamp.get();
        }
        if (last == null) {
            String why = "no completed upgrade in /var/log/apt/history.log* and no /var/lib/apt/periodic/upgrade-stamp";
            errors.add(new CheckError(CHECK, problems.isEmpty() ? why : why + " (" + String.join("; ", problems) + ")"));
        }
        return last;
    }

    /** {@code history.log}, then logrotate's {@code history.log.1}, {@code history.log.2.gz}, … */
    private List<String> historyLogs() {
        List<String> logs = new ArrayList<>();
        String dir = "var/log/apt/";
        for (String name : fs.list(dir)) {
            if (name.equals("history.log") || name.matches("history\\.log\\.\\d{1,2}(\\.gz)?")) {
                logs.add(dir + name);
            }
        }
        return logs.size() > MAX_ROTATIONS + 1 ? logs.subList(0, MAX_ROTATIONS + 1) : logs;
    }

    /** apt and dnf write local time; the clock's zone is the machine's. */
    private Instant instant(LocalDateTime local) {
        return local.atZone(clock.getZone()).toInstant();
    }

    private String failure(List<String> command, CommandException e) {
        return Commands.failure(command, e, timeout);
    }

    private static String exited(List<String> command, CommandRunner.Result r) {
        return Commands.exited(command, r);
    }
}
