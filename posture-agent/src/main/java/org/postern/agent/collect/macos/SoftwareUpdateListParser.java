package org.postern.agent.collect.macos;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * {@code softwareupdate --list}: how many pending updates are security updates.
 *
 * <p>Two formats. Since macOS 10.15 each update is "* Label: macOS Sonoma 14.4.1-23E224" and a
 * tab-indented "Title: macOS Sonoma 14.4.1, Version: 14.4.1, Size: 3455256KiB, Recommended: YES,
 * Action: restart,"; before, "* macOS High Sierra 10.13.6 Update-17G14042" and a tab-indented
 * "macOS High Sierra 10.13.6 Update (10.13.6), 1922034K [recommended] [restart]". With no update
 * the tool prints "No new software available." — on stderr, and some releases exit 1.
 *
 * <p>What counts as a security update (Apple ships OS security fixes only in these): an update
 * of the installed macOS release (same major version: 14.x on 14), a "Security Update …"
 * (10.x era), a Rapid Security Response ("… (a)", "Security Response") and a "Background Security
 * Improvement". Not counted: an upgrade to the next major release (Apple keeps patching the
 * current one), Safari, Command Line Tools and other apps, and XProtect/MRT/Gatekeeper data
 * (installed silently in the background; listed only with --include-config-data).
 */
final class SoftwareUpdateListParser {
    static final String NONE = "No new software available.";

    private static final Pattern NEW_LABEL = Pattern.compile("^\\s*[*-]\\s*Label:\\s*(.+?)\\s*$");
    private static final Pattern OLD_LABEL = Pattern.compile("^\\s*[*-]\\s+(.+?)\\s*$");
    private static final Pattern TITLE = Pattern.compile("Title:\\s*([^,]+)");
    private static final Pattern VERSION = Pattern.compile("Version:\\s*([^,]+)");
    private static final Pattern OLD_DETAIL_VERSION = Pattern.compile("\\((\\d+(?:\\.\\d+)*)\\)");
    private static final Pattern LEADING_VERSION = Pattern.compile("(\\d+(?:\\.\\d+)*)");
    private static final Pattern SECURITY = Pattern.compile(
            "security update|security response|background security improvement|\\(\\p{Alpha}\\)", Pattern.CASE_INSENSITIVE);

    record Update(String label, String title, String version) {}

    private SoftwareUpdateListParser() {
    }

    /**
     * The number of pending security updates. {@code installedMajor} is {@link SwVersParser.SwVers#major()}
     * or null when unknown — then every macOS update counts (unknown is never a pass).
     *
     * @throws IllegalArgumentException when the output is neither a list nor "No new software available."
     */
    static int securityPending(int exitCode, String stdout, String stderr, @Nullable String installedMajor) {
        List<Update> updates = updates(stdout + "\n" + stderr);
        if (updates.isEmpty()) {
            if ((stdout + "\n" + stderr).contains(NONE)) {
                return 0;
            }
            throw new IllegalArgumentException("softwareupdate --list: expected a list of updates or \"" + NONE + "\", found "
                    + MacText.quote(stdout + " " + stderr) + " (exit " + exitCode + ")");
        }
        int count = 0;
        for (Update u : updates) {
            if (isSecurity(u, installedMajor)) {
                count++;
            }
        }
        return count;
    }

    static List<Update> updates(String text) {
        List<Update> updates = new ArrayList<>();
        String[] lines = text.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            Matcher label = NEW_LABEL.matcher(lines[i]);
            boolean newFormat = label.matches();
            if (!newFormat) {
                label = OLD_LABEL.matcher(lines[i]);
                if (!label.matches()) {
                    continue;
                }
            }
            String detail = i + 1 < lines.length ? lines[i + 1] : "";
            String name = label.group(1);
            if (newFormat) {
                Matcher t = TITLE.matcher(detail);
                Matcher v = VERSION.matcher(detail);
                updates.add(new Update(name, t.find() ? t.group(1).strip() : name, v.find() ? v.group(1).strip() : null));
            } else {
                String title = detail.contains(",") ? detail.substring(0, detail.indexOf(',')).strip() : name;
                Matcher v = OLD_DETAIL_VERSION.matcher(title);
                updates.add(new Update(name, title, v.find() ? v.group(1) : null));
            }
        }
        return updates;
    }

    static boolean isSecurity(Update u, String installedMajor) {
        String both = u.label() + " " + u.title();
        if (SECURITY.matcher(both).find()) {
            return true;
        }
        String title = u.title().toLowerCase(Locale.ROOT);
        boolean os = title.startsWith("macos") || title.startsWith("mac os x") || title.startsWith("os x");
        if (!os) {
            return false;
        }
        String version = u.version();
        if (version == null) {
            Matcher m = LEADING_VERSION.matcher(u.title());
            version = m.find() ? m.group(1) : null;
        }
        if (installedMajor == null || version == null) {
            return true;
        }
        return version.equals(installedMajor) || version.startsWith(installedMajor + ".");
    }
}
