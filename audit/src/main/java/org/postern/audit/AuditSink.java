package org.postern.audit;

/**
 * Where audit events go. The PKI and the gateway emit through this interface; the durable,
 * hash-chained trail implements it. {@link #record} returns only once the event is as durable as
 * the implementation promises, and throws {@link AuditUnavailableException} when it cannot be
 * written — callers fail closed on that.
 */
public interface AuditSink extends AutoCloseable {

    void record(AuditEvent event);

    @Override
    default void close() {
    }
}
