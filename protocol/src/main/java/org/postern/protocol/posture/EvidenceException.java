package org.postern.protocol.posture;

import java.util.Objects;

/**
 * Evidence that cannot be accepted, with the {@link Reason} to put in the decision
 * ({@code evidence.bad_signature}, {@code evidence.stale}, …). The message is the detail for the
 * audit trail (what was expected and what was found); the peer gets {@link #detail()}, the
 * reason's generic text.
 */
public final class EvidenceException extends Exception {

    private static final long serialVersionUID = 1L;

    private final Reason reason;

    public EvidenceException(Reason reason, String message) {
        super(reason.code() + ": " + message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    EvidenceException(Reason reason, String message, Throwable cause) {
        this(reason, message);
        initCause(cause);
    }

    public Reason reason() {
        return reason;
    }

    /** The terse reason for the peer: code, generic message and remediation. */
    public ReasonDetail detail() {
        return reason.detail();
    }
}
