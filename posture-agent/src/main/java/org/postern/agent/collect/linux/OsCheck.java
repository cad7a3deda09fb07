package org.postern.agent.collect.linux;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.jspecify.annotations.Nullable;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.OsFacts;

/**
 * The distribution from {@code /etc/os-release} (or {@code /usr/lib/os-release}, its fallback per
 * os-release(5)) and the kernel release. The kernel is read from
 * {@code /proc/sys/kernel/osrelease}, the same string {@code uname -r} prints (both come from
 * utsname's release), without starting a process; {@code uname -r} is asked only when the file
 * cannot be read.
 */
final class OsCheck {
    static final String CHECK = "os";
    private static final List<String> UNAME = List.of("uname", "-r");
    private static final List<String> OS_RELEASE = List.of("etc/os-release", "usr/lib/os-release");

    private final RootFs fs;
    private final CommandRunner runner;
    private final Duration timeout;

    OsCheck(RootFs fs, CommandRunner runner, Duration timeout) {
        this.fs = fs;
        this.runner = runner;
        this.timeout = timeout;
    }

    OsFacts collect(List<CheckError> errors) {
        String name = null;
        String version = null;
        Optional<Map<String, String>> release = osRelease(errors);
        if (release.isPresent()) {
            Map<String, String> r = release.get();
            // os-release(5): "If not set, a default of ID=linux may be used."
            name = r.getOrDefault("ID", "linux");
            version = r.get("VERSION_ID");
            if (version == null || version.isBlank()) {
                version = null;
                errors.add(new CheckError(CHECK, "os-release has no VERSION_ID (ID=" + name
                        + ", PRETTY_NAME=" + r.get("PRETTY_NAME") + "); a rolling release cannot be compared to a minimum version"));
            }
        }
        return new OsFacts(OsFacts.LINUX, name, version, null, kernel(errors));
    }

    private Optional<Map<String, String>> osRelease(List<CheckError> errors) {
        for (String path : OS_RELEASE) {
            try {
                Optional<String> text = fs.read(path);
                if (text.isPresent()) {
                    return Optional.of(OsRelease.parse(text.get()));
                }
            } catch (IOException e) {
                errors.add(new CheckError(CHECK, "cannot read " + RootFs.show(path) + ": " + e));
                return Optional.empty();
            }
        }
        errors.add(new CheckError(CHECK, "neither /etc/os-release nor /usr/lib/os-release exists"));
        return Optional.empty();
    }

    private @Nullable String kernel(List<CheckError> errors) {
        String file = "proc/sys/kernel/osrelease";
        Optional<String> fromFile = fs.attribute(file).filter(s -> !s.isEmpty());
        if (fromFile.isPresent()) {
            return fromFile.get();
        }
        try {
            CommandRunner.Result r = runner.run(UNAME, timeout);
            String out = r.stdout().strip();
            if (r.exitCode() == 0 && !out.isEmpty() && !out.contains("\n")) {
                return out;
            }
            errors.add(new CheckError(CHECK, RootFs.show(file) + " is unreadable and " + Commands.exited(UNAME, r)));
        } catch (CommandException e) {
            errors.add(new CheckError(CHECK, RootFs.show(file) + " is unreadable and " + Commands.failure(UNAME, e, timeout)));
        }
        return null;
    }
}
