package org.postern.protocol.posture;

import java.util.List;
import java.util.Objects;

/**
 * One line of the posture report, as {@code postern-agent check} prints it:
 * {@code ✔ Disk encryption — C: encrypted (XTS-AES 128), protection on, fully_encrypted}.
 * {@code check} is the stable name ({@code disk}, {@code os}, {@code patch.lastUpdate},
 * {@code patch.securityPending}, {@code patch.rebootRequired}, {@code agent}, {@code cert}),
 * {@code title} the words to show, {@code found} the fact as text, and {@code reasons} what
 * failed (empty when {@code passed}).
 */
public record CheckResult(String check, String title, boolean passed, String found, List<ReasonDetail> reasons) {

    public CheckResult {
        Objects.requireNonNull(check, "check");
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(found, "found");
        reasons = List.copyOf(reasons);
        if (passed != reasons.isEmpty()) {
            throw new IllegalArgumentException("check " + check + ": a check passes exactly when it has no reasons");
        }
    }

    /** {@code ✔ title — found} or {@code ✘ title — found}, without the remediation. */
    public String line() {
        return (passed ? "✔ " : "✘ ") + title + " — " + found;
    }
}
