package org.postern.protocol.posture;

import java.util.Objects;

/**
 * A check that could not run: {@code check} is {@code os}, {@code disk} or {@code patch}, and
 * {@code why} says what failed ({@code "fdesetup not found"}, {@code "powershell timed out after
 * 10s"}). The evaluator turns any such error into {@code check.failed}: never a pass.
 */
public record CheckError(String check, String why) {
    public CheckError {
        Objects.requireNonNull(check, "check");
        Objects.requireNonNull(why, "why");
    }
}
