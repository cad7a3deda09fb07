package org.postern.agent.collect.macos;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code sw_vers}: "Key:" then tabs or spaces then the value; how many tabs differs between
 * releases (macOS 11+ pads "ProductName:" with two tabs), and the product name changed from
 * "Mac OS X" to "macOS" in 11. macOS 13+ may add "ProductVersionExtra: (a)" for a Rapid Security
 * Response, which the build ("22F770820d") already reflects.
 */
final class SwVersParser {
    record SwVers(String productName, String productVersion, String buildVersion) {
        /** The major release: 14 for 14.4.1, and 10.15 for 10.15.7 (before 11 the second number was the release). */
        String major() {
            String[] parts = productVersion.split("\\.");
            return parts[0].equals("10") && parts.length > 1 ? parts[0] + "." + parts[1] : parts[0];
        }
    }

    private SwVersParser() {
    }

    /** @throws IllegalArgumentException when ProductVersion or BuildVersion is missing */
    static SwVers parse(String output) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : (output == null ? "" : output).split("\\R")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                values.put(line.substring(0, colon).strip(), line.substring(colon + 1).strip());
            }
        }
        String version = values.get("ProductVersion");
        String build = values.get("BuildVersion");
        if (version == null || !version.matches("\\d+(\\.\\d+)*") || build == null || build.isEmpty()) {
            throw new IllegalArgumentException("sw_vers: expected ProductVersion like 14.4.1 and BuildVersion like 23E224, found "
                    + MacText.quote(output));
        }
        return new SwVers(values.getOrDefault("ProductName", "macOS"), version, build);
    }
}
