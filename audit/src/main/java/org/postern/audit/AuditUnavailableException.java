package org.postern.audit;

/** The audit trail cannot take an event; whoever asked must refuse the action it describes. */
public final class AuditUnavailableException extends RuntimeException {
    public AuditUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
