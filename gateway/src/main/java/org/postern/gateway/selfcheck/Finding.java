package org.postern.gateway.selfcheck;

import java.util.Objects;

/**
 * One thing a check saw: which check, how much it matters, what it is and how to fix it.
 *
 * @param check    the check's name, like {@code permissions}
 * @param severity how much it matters
 * @param message  what was found, naming the setting or file
 * @param fix      what to do; "nothing to do" for an info that needs nothing
 */
public record Finding(String check, Severity severity, String message, String fix) {

    public Finding {
        Objects.requireNonNull(check, "check");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(fix, "fix");
        if (check.isBlank() || message.isBlank() || fix.isBlank()) {
            throw new IllegalArgumentException("finding: expected a check name, a message and a fix, found \""
                    + check + "\", \"" + message + "\", \"" + fix + "\"");
        }
    }

    static Finding info(String check, String message) {
        return new Finding(check, Severity.INFO, message, "nothing to do");
    }
}
