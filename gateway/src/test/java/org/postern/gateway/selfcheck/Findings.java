package org.postern.gateway.selfcheck;

import java.util.List;

/** Test helpers over a check's findings. */
final class Findings {
    private Findings() {
    }

    static List<Finding> of(List<Finding> all, Severity severity) {
        return all.stream().filter(f -> f.severity() == severity).toList();
    }

    static Finding only(List<Finding> all, Severity severity) {
        List<Finding> found = of(all, severity);
        if (found.size() != 1) {
            throw new AssertionError("expected one " + severity + " finding, found " + found.size() + ": " + all);
        }
        return found.getFirst();
    }
}
