package org.postern.gateway.reload;

import java.util.List;
import java.util.Objects;

/**
 * What one reload did.
 *
 * @param ok           the file was valid and its live settings are in force now
 * @param changed      the live keys whose values changed ({@code access}, {@code posture}, {@code tls})
 * @param needsRestart keys that changed in the file but only take effect at the next start (kept as they are)
 * @param problems     why the file was refused, each naming the key; empty when {@code ok}
 */
public record ReloadResult(boolean ok, List<String> changed, List<String> needsRestart, List<String> problems) {
    public ReloadResult {
        changed = List.copyOf(changed);
        needsRestart = List.copyOf(needsRestart);
        problems = List.copyOf(problems);
        if (ok != problems.isEmpty()) {
            throw new IllegalArgumentException("a reload is ok exactly when it has no problems");
        }
        Objects.requireNonNull(changed);
    }
}
