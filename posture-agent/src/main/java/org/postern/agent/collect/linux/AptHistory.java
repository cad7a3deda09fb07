package org.postern.agent.collect.linux;

import java.time.LocalDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * Reads apt's transaction log {@code /var/log/apt/history.log} (written by apt-pkg's
 * {@code pkgDPkgPM::WriteHistoryTag}/{@code StartDpkg}): one block per apt run, separated by a
 * blank line, with {@code Start-Date:}, {@code Commandline:}, {@code Install:}, {@code Upgrade:},
 * {@code Remove:}, {@code Purge:}, {@code Error:} and {@code End-Date:} lines. Dates are local time
 * written as {@code %F  %T} (two spaces): {@code End-Date: 2024-01-15  10:22:33}.
 *
 * <p>The last update is the {@code End-Date} of the latest block that upgraded packages
 * ({@code Upgrade:}) and recorded no {@code Error:}. A block that only installs new packages
 * patches nothing, and a block without {@code End-Date} was interrupted.
 */
final class AptHistory {
    private AptHistory() {
    }

    /** The end of the latest successful upgrade in this log text, in the machine's local time. */
    static Optional<LocalDateTime> lastUpgrade(String log) {
        LocalDateTime best = null;
        boolean upgrade = false;
        boolean error = false;
        LocalDateTime end = null;
        for (String raw : (log + "\n\n").split("\n", -1)) {
            String line = raw.strip();
            if (line.isEmpty()) {
                if (upgrade && !error && end != null && (best == null || end.isAfter(best))) {
                    best = end;
                }
                upgrade = false;
                error = false;
                end = null;
            } else if (line.startsWith("Upgrade:")) {
                upgrade = true;
            } else if (line.startsWith("Error:")) {
                error = true;
            } else if (line.startsWith("End-Date:")) {
                end = date(line.substring("End-Date:".length())).orElse(null);
            }
        }
        return Optional.ofNullable(best);
    }

    static Optional<LocalDateTime> date(String text) {
        String[] parts = text.strip().split("\\s+");
        if (parts.length != 2) {
            return Optional.empty();
        }
        try {
            return Optional.of(LocalDateTime.parse(parts[0] + "T" + parts[1]));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
