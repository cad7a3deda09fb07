package org.postern.gateway.ssh;

import java.util.List;

import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Charter;

/**
 * The bastion's welcome banner: the remote-work charter in force (its version and text, or its
 * first lines and where to read the rest), then {@code ssh.banner}. OpenSSH prints a banner whole
 * on the terminal before authentication, so a long charter is cut to stay readable.
 */
final class CharterBanner {
    /** Lines of the charter's text shown at most. */
    static final int MAX_LINES = 24;
    /** Characters of the charter's text shown at most. */
    static final int MAX_CHARS = 2000;

    private CharterBanner() {
    }

    /** The banner for {@code charter} (null: none required) and {@code configured} ({@code ssh.banner}, or null); null when both are. */
    static @Nullable String of(@Nullable Charter charter, @Nullable String configured) {
        StringBuilder b = new StringBuilder();
        if (charter != null) {
            b.append("Remote-work charter, version ").append(charter.version()).append(" (sha256 ")
                    .append(charter.sha256(), 0, 16).append("…):\n\n");
            List<String> lines = charter.text().strip().lines().toList();
            int chars = 0;
            int shown = 0;
            for (String line : lines) {
                if (shown == MAX_LINES || chars + line.length() > MAX_CHARS) {
                    break;
                }
                b.append(line).append('\n');
                chars += line.length() + 1;
                shown++;
            }
            if (shown < lines.size()) {
                b.append("[… ").append(lines.size() - shown).append(" more lines: read the whole charter with `postern-agent charter`]\n");
            }
            b.append("\nSessions need version ").append(charter.version())
                    .append(" of this charter accepted on your laptop: run `postern-agent charter`.\n");
        }
        if (configured != null) {
            if (!b.isEmpty()) {
                b.append('\n');
            }
            b.append(configured.endsWith("\n") ? configured : configured + "\n");
        }
        return b.isEmpty() ? null : b.toString();
    }
}
