package org.postern.agent.collect.macos;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * {@code softwareupdate --history}: a table "Display Name / Version / Date", columns padded with
 * spaces, a dashed rule under the header, dates as "MM/DD/YYYY, HH:MM:SS" in local time. The
 * last update is the newest row that updated macOS itself — a macOS update, a Security Update, a
 * Security Response or a Background Security Improvement — not Safari or Command Line Tools, which
 * say nothing about the OS patch level.
 */
final class SoftwareUpdateHistoryParser {
    private static final Pattern ROW = Pattern.compile(
            "^(.*?)\\s{2,}.*?(\\d{1,2})/(\\d{1,2})/(\\d{4}),?\\s+(\\d{1,2}):(\\d{2}):(\\d{2})\\s*([AP]M)?\\s*$");

    private SoftwareUpdateHistoryParser() {
    }

    /**
     * The newest OS update, or null when the table has no OS update.
     *
     * @throws IllegalArgumentException when rows are there but none has a readable date
     */
    static @Nullable Instant lastOsUpdate(String output, ZoneId zone) {
        Instant newest = null;
        int rows = 0;
        int dated = 0;
        String firstUnread = null;
        for (String line : (output == null ? "" : output).split("\\R")) {
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("Display Name") || t.startsWith("---")) {
                continue;
            }
            rows++;
            Matcher m = ROW.matcher(t);
            if (!m.matches()) {
                if (firstUnread == null) {
                    firstUnread = t;
                }
                continue;
            }
            dated++;
            if (!isOsUpdate(m.group(1))) {
                continue;
            }
            int hour = Integer.parseInt(m.group(5));
            if (m.group(8) != null) {
                hour = hour % 12 + (m.group(8).equals("PM") ? 12 : 0);
            }
            LocalDateTime local = LocalDateTime.of(Integer.parseInt(m.group(4)), Integer.parseInt(m.group(2)),
                    Integer.parseInt(m.group(3)), hour, Integer.parseInt(m.group(6)), Integer.parseInt(m.group(7)));
            Instant when = local.atZone(zone).toInstant();
            if (newest == null || when.isAfter(newest)) {
                newest = when;
            }
        }
        if (rows > 0 && dated == 0) {
            throw new IllegalArgumentException("softwareupdate --history: expected rows ending in a date like 04/02/2024, 10:12:13, found "
                    + MacText.quote(firstUnread));
        }
        return newest;
    }

    static boolean isOsUpdate(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        return n.startsWith("macos") || n.startsWith("mac os x") || n.startsWith("os x")
                || n.contains("security update") || n.contains("security response") || n.contains("background security improvement");
    }
}
