package org.postern.gateway.ssh;

import java.security.PublicKey;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.Executor;

import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every part of the bastion consults: the SSH user CA's public key (the only one trusted),
 * the registry and the posture leases (who may be in), the destination resolver and access policy
 * (where they may go, the same ones as CONNECT), the {@link TunnelGate} over them that decides both, the audit trail, time, and the workers that run
 * blocking work (DNS, registry) off the SSH I/O threads.
 */
record BastionContext(PublicKey userCa, Registry registry, LeaseStore leases, DestinationResolver resolver,
                      AccessPolicy policy, TunnelGate gate, AuditSink audit, Clock clock, Executor workers) {

    private static final Logger LOG = LoggerFactory.getLogger(BastionContext.class);

    BastionContext {
        Objects.requireNonNull(userCa, "userCa");
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(leases, "leases");
        Objects.requireNonNull(resolver, "resolver");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(audit, "audit");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(workers, "workers");
    }

    /** An event of {@code type} now, marked {@code via: ssh}. */
    AuditEvent.Builder event(String type) {
        return AuditEvent.of(type, clock.instant()).with("via", "ssh");
    }

    /**
     * Records a refusal ({@code access.denied}). A refusal stands even when the trail cannot take
     * it; it is logged instead, never lost silently.
     */
    void denied(AuditEvent.Builder event, String reason, String detail) {
        AuditEvent e = event.with("reason", reason).with("detail", detail).build();
        try {
            audit.record(e);
        } catch (AuditUnavailableException ex) {
            LOG.error("access.denied {} could not be recorded ({}): {}", reason, ex.getMessage(), e.fields());
        }
    }
}
