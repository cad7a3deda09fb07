package org.postern.agent.collect.linux;

import java.time.LocalDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsers for dnf's text output, run with {@code LC_ALL=C}. dnf 4 (Fedora up to 40, RHEL 8 and
 * 9) is the format recorded in the fixtures; dnf 5's {@code advisory list} table is also read for
 * updateinfo, but dnf 5's {@code history list} is not (see the collector's notes).
 */
final class Dnf {
    /** {@code    12 | upgrade -y   | 2024-01-15 10:22 | Upgrade   |   35 E<} */
    private static final Pattern HISTORY = Pattern.compile(
            "^\\s*(\\d+)\\s*\\|(.*)\\|\\s*(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2})\\s*\\|([^|]*)\\|\\s*(\\d+)\\s*(\\S*)\\s*$");
    private static final Pattern DATE_TIME = Pattern.compile("(\\d{4}-\\d{2}-\\d{2}) (\\d{2}:\\d{2}:\\d{2})");

    private Dnf() {
    }

    /**
     * The latest transaction of {@code dnf history list} that upgraded packages and completed.
     * Actions are {@code Install}, {@code Upgrade}, {@code Removed}… or abbreviations joined by
     * commas ({@code I, U}) when a transaction did several. After the count of altered packages
     * come flags (yum(8) and dnf(8), "history"): {@code *} aborted before completion, {@code #}
     * completed with a non-zero status; those transactions are skipped. Times are local, to the
     * minute.
     */
    static Optional<LocalDateTime> lastUpgrade(String historyList) {
        LocalDateTime best = null;
        for (String line : historyList.split("\n")) {
            Matcher m = HISTORY.matcher(line);
            if (!m.find()) {
                continue;
            }
            String flags = m.group(6);
            if (flags.contains("*") || flags.contains("#") || !isUpgrade(m.group(4))) {
                continue;
            }
            try {
                LocalDateTime t = LocalDateTime.parse(m.group(3).replace(' ', 'T'));
                if (best == null || t.isAfter(best)) {
                    best = t;
                }
            } catch (DateTimeParseException e) {
                // not a row
            }
        }
        return Optional.ofNullable(best);
    }

    private static boolean isUpgrade(String actions) {
        for (String a : actions.split(",")) {
            String t = a.strip();
            if (t.equals("Upgrade") || t.equals("Update") || t.equals("U")) {
                return true;
            }
        }
        return false;
    }

    /** Security advisories pending for installed packages, and the oldest issue date when shown. */
    record Pending(int count, Optional<LocalDateTime> oldestIssued) {
    }

    /**
     * Reads {@code dnf updateinfo list --security}. dnf 4 prints one row per advisory and package,
     * {@code FEDORA-2023-1a2b3c4d5e Important/Sec. openssl-libs-1:3.1.1-4.fc39.x86_64} (type
     * {@code <Severity>/Sec.}, or {@code security} without a severity), without dates. dnf 5's
     * {@code advisory list} adds columns: {@code FEDORA-2024-… security Moderate glibc-2.39-6.fc40.x86_64
     * 2024-04-19 03:02:12}, whose issue date is used for the oldest pending one.
     */
    static Pending securityList(String output) {
        int count = 0;
        LocalDateTime oldest = null;
        for (String line : output.split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length < 3 || !(f[1].endsWith("/Sec.") || f[1].equals("security"))) {
                continue;
            }
            count++;
            Matcher d = DATE_TIME.matcher(line);
            if (d.find()) {
                try {
                    LocalDateTime t = LocalDateTime.parse(d.group(1) + "T" + d.group(2));
                    if (oldest == null || t.isBefore(oldest)) {
                        oldest = t;
                    }
                } catch (DateTimeParseException e) {
                    // no date on this row
                }
            }
        }
        return new Pending(count, Optional.ofNullable(oldest));
    }
}
