package org.postern.audit;

/**
 * Where audit events go. The PKI and the gateway emit through this interface; the durable,
 * hash-chained trail implements it. {@link #record} returns only once the event is as durable as
 * the implementation promises, and throws {@link AuditUnavailableException} when it cannot be
 * written — callers fail closed on that.
 */
public interface AuditSink extends AutoCloseable {

    void record(AuditEvent event);

    /**
     * Records an event about something that has already happened and cannot be refused, such as a
     * session or a flow that ended. A sink that can keep it while it is unavailable, and write it
     * later in order and with its own time, does so and returns false (the durable trail does:
     * {@code AuditTrail.recordOrDefer}). This default cannot: it records at once and throws like
     * {@link #record}.
     *
     * @return true when the event is durable now, false when it was kept to be written later
     */
    default boolean recordOrDefer(AuditEvent event) {
        record(event);
        return true;
    }

    @Override
    default void close() {
    }
}
