package org.postern.gateway.proxy;

import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.protocol.Reasons;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records a connection refused over its PROXY header as {@code connection.denied} (reason
 * {@code proxy.*}), on the workers: the trail blocks. The peer gets nothing but the close; the
 * record says why, and names the TCP peer, since no client address was taken from it. The tunnel
 * listener's records go through the refusal throttle (docs/audit.md), so a flood is counted.
 */
public final class ProxyAudit {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyAudit.class);

    private final String listener;
    private final AuditSink audit;
    private final Executor workers;
    private final Clock clock;

    /** For the listener named {@code listener} ({@code tunnel}, {@code ssh}). */
    public ProxyAudit(String listener, AuditSink audit, Executor workers, Clock clock) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** {@code connection.denied} from {@code peer} ({@code ip:port}) for {@code reason}. */
    public void refused(String peer, Reasons reason, String detail) {
        LOG.debug("{}: connection from {} refused ({}): {}", listener, peer, reason.code(), detail);
        AuditEvent event = AuditEvent.of("connection.denied", clock.instant())
                .with("listener", listener)
                .with("source", peer)
                .with("reason", reason.code())
                .with("detail", detail)
                .build();
        Runnable write = () -> {
            try {
                audit.record(event);
            } catch (AuditUnavailableException e) {
                LOG.error("connection.denied {} from {} could not be recorded: {}", reason.code(), peer, e.getMessage());
            }
        };
        try {
            workers.execute(write);
        } catch (RejectedExecutionException e) {
            LOG.warn("connection.denied {} from {} not recorded: shutting down", reason.code(), peer);
        }
    }
}
