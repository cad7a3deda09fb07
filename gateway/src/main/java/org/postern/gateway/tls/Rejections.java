package org.postern.gateway.tls;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.keys.Fingerprints;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes {@code tls.rejected} for a refused client certificate, on the workers: the audit trail
 * blocks (group commit) and a refusal is decided on the event loop. The refusal stands whether or
 * not the event could be written.
 */
final class Rejections {
    private static final Logger log = LoggerFactory.getLogger(Rejections.class);

    private final AuditSink audit;
    private final Clock clock;
    private final Executor workers;

    Rejections(AuditSink audit, Clock clock, Executor workers) {
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.workers = Objects.requireNonNull(workers, "workers");
    }

    /**
     * Records the refusal of {@code leaf}.
     *
     * @param deviceId the device it names, or null when it names none
     * @param source   the peer's {@code address:port}, or null when not known
     */
    void record(X509Certificate leaf, @Nullable String deviceId, @Nullable String source, LiveRevocations.Refusal refusal) {
        var at = clock.instant();
        String subject = leaf.getSubjectX500Principal().getName();
        log.debug("refused client certificate {} ({}): {}", leaf.getSerialNumber().toString(16), subject, refusal.why());
        try {
            workers.execute(() -> {
                try {
                    audit.record(AuditEvent.of("tls.rejected", at)
                            .with("device", deviceId)
                            .with("subject", AuditEvent.peerText(subject))
                            .with("certSerial", leaf.getSerialNumber().toString(16))
                            .with("certSha256", Fingerprints.sha256(leaf))
                            .with("source", source)
                            .with("reason", refusal.reason())
                            .with("why", refusal.why()).build());
                } catch (AuditUnavailableException e) {
                    log.warn("tls.rejected for {} not recorded: {}", subject, e.getMessage());
                }
            });
        } catch (RejectedExecutionException e) {
            log.warn("tls.rejected for {} not recorded: shutting down", subject);
        }
    }
}
