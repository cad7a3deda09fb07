package org.postern.agent.collect.linux;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the output of a simulated upgrade, {@code apt-get -s dist-upgrade} (apt-pkg's
 * {@code pkgSimulate}). Each package to install or upgrade is one line:
 * <pre>Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])</pre>
 * name, the installed version in brackets (absent for a new package), then in parentheses the
 * candidate version, the releases that carry it as comma-separated {@code Origin:Version/Archive}
 * and the architecture. Broken dependencies add a trailing {@code []}.
 *
 * <p>A line is a security update when one of its releases is a security archive: archive
 * ending in {@code -security} ({@code stable-security}, {@code jammy-security}) or origin
 * {@code Debian-Security} (older Debian archives were named {@code stable} there).
 */
final class AptSimulation {
    private static final Pattern INST = Pattern.compile("^Inst (\\S+)(?: \\[[^\\]]*\\])? \\((\\S+) (.*) \\[[^\\]]+\\]\\)");

    private AptSimulation() {
    }

    /** Packages the simulated upgrade would change, and which of them come from a security archive. */
    record Pending(int total, List<String> security) {
    }

    static Pending parse(String output) {
        int total = 0;
        List<String> security = new ArrayList<>();
        for (String line : output.split("\n")) {
            Matcher m = INST.matcher(line.strip());
            if (!m.find()) {
                continue;
            }
            total++;
            if (fromSecurity(m.group(3))) {
                security.add(m.group(1));
            }
        }
        return new Pending(total, List.copyOf(security));
    }

    private static boolean fromSecurity(String releases) {
        for (String rel : releases.split(",")) {
            String r = rel.strip();
            int colon = r.indexOf(':');
            int slash = r.lastIndexOf('/');
            String origin = colon > 0 ? r.substring(0, colon) : r;
            String archive = slash >= 0 ? r.substring(slash + 1) : "";
            if (archive.endsWith("-security") || origin.equalsIgnoreCase("Debian-Security")) {
                return true;
            }
        }
        return false;
    }
}
