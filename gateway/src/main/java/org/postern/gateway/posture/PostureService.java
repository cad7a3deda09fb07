package org.postern.gateway.posture;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.pki.registry.CertStatus;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.EvidenceException;
import org.postern.protocol.posture.PostureClaims;
import org.postern.protocol.posture.PostureEvaluator;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.ReasonDetail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.postern.protocol.Reasons;

/**
 * The gateway's side of posture: hands out challenges and turns evidence into a decision and,
 * when the decision allows, a lease. Every decision is written to the audit trail as
 * {@code posture.decision} before it is answered; if the trail cannot take it, no lease is stored
 * and {@link AuditUnavailableException} propagates (the peer gets 503) — fail closed.
 *
 * <p>Blocking (registry, audit): call it from a worker, not an event loop. Thread-safe.
 */
public final class PostureService {
    private static final Logger log = LoggerFactory.getLogger(PostureService.class);

    /** Reason code: the device is no longer active in the registry. */
    public static final String DEVICE_NOT_ACTIVE = Reasons.DEVICE_NOT_ACTIVE.code();
    /** Reason code: the connection's certificate is no longer good (revoked or on hold since the handshake). */
    public static final String CERT_REVOKED = Reasons.CERT_REVOKED.code();

    private final Supplier<PosturePolicy> policy;

    /** The posture policy in force now (a reload swaps it). */
    public PosturePolicy policy() {
        return policy.get();
    }
    private final PostureEvaluator evaluator;
    private final ChallengeStore challenges;
    private final LeaseStore leases;
    private final Registry registry;
    private final AuditSink audit;
    private final Clock clock;
    private volatile DecisionObserver observer = (result, reasons) -> { };

    /** Told of every recorded decision (metrics): {@code compliant}, {@code non_compliant} or {@code rejected}, and its reason codes. */
    @FunctionalInterface
    public interface DecisionObserver {
        void decided(String result, List<String> reasons);
    }

    /**
     * @param policy the current posture policy; read once per decision, so a reload takes effect
     *               at the next evidence
     */
    public PostureService(Supplier<PosturePolicy> policy, PostureEvaluator evaluator, ChallengeStore challenges,
                          LeaseStore leases, Registry registry, AuditSink audit, Clock clock) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.evaluator = Objects.requireNonNull(evaluator, "evaluator");
        this.challenges = Objects.requireNonNull(challenges, "challenges");
        this.leases = Objects.requireNonNull(leases, "leases");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Sets who is told of each recorded decision (one observer; the metrics). */
    public void onDecision(DecisionObserver observer) {
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    /** A fresh challenge for the connection's device. */
    public ChallengeStore.Challenge challenge(ClientIdentity identity) {
        return challenges.issue(identity.deviceId());
    }

    /** The device's live lease, if any (for the gates after this one). */
    public java.util.Optional<Lease> lease(String deviceId) {
        return leases.current(deviceId);
    }

    /**
     * Verifies and judges evidence from the connection's device.
     *
     * @param jws    the compact JWS as received; null when the request carried none (then
     *               {@code evidence.malformed})
     * @param source the peer's {@code ip:port}, for the audit trail
     * @throws AuditUnavailableException the decision could not be recorded; nothing was granted
     * @throws RegistryException         the registry could not be read; nothing was granted
     */
    public Decision evidence(ClientIdentity identity, String jws, String source) {
        Objects.requireNonNull(identity, "identity");
        PosturePolicy p = policy.get();
        Instant now = clock.instant();
        AuditEvent.Builder event = AuditEvent.of("posture.decision", now)
                .with("device", identity.deviceId());
        Device device = registry.device(identity.deviceId()).orElse(null);
        event.with("user", device == null ? null : device.owner())
                .with("certSerial", identity.serialHex())
                .with("certSha256", identity.sha256())
                .with("source", source)
                .with("evidenceSha256", jws == null ? null : Evidence.evidenceSha256(jws))
                .with("policyVersion", p.version())
                .with("mode", p.mode().spelling());

        String barred = barred(identity, device);
        if (barred != null) {
            String code = device == null || device.status() != DeviceStatus.ACTIVE ? DEVICE_NOT_ACTIVE : CERT_REVOKED;
            record(event.with("result", "rejected").with("reasons", List.of(code)).with("detail", barred));
            leases.end(identity.deviceId());
            observed("rejected", List.of(code));
            return new Decision.Refused(code, code.equals(DEVICE_NOT_ACTIVE) ? "device is not active"
                    : "certificate is no longer valid");
        }

        PostureClaims claims;
        try {
            claims = Evidence.verify(jws, identity.certificate(), challenges.forDevice(identity.deviceId()), now,
                    p.evidenceSkew());
        } catch (EvidenceException e) {
            // Nothing judged: an existing lease runs on to its end (the device's own key sent this,
            // over its own authenticated connection; a clock hiccup must not cut its flows).
            record(event.with("result", "rejected").with("reasons", List.of(e.reason().code()))
                    .with("detail", e.getMessage()));
            touch(identity, now, "rejected");
            observed("rejected", List.of(e.reason().code()));
            return new Decision.Rejected(e, p.mode(), p.version());
        }

        PostureVerdict verdict = evaluator.evaluate(claims, p, identity.certificate().getNotAfter().toInstant(), now);
        String result = Lease.result(verdict);
        record(event.with("result", result)
                .with("reasons", verdict.reasons().stream().map(ReasonDetail::code).toList())
                // each check as "pass|fail CHECK: what was found", for the console's device page
                .with("checks", verdict.checks().stream().map(c -> (c.passed() ? "pass " : "fail ") + c.check() + ": "
                        + AuditEvent.peerText(c.found())).toList())
                .with("allowed", verdict.allowed())
                .with("leaseUntil", verdict.leaseUntil() == null ? null : verdict.leaseUntil().toString()));
        if (verdict.allowed()) {
            leases.put(new Lease(identity.deviceId(), device.owner(), identity.serial(), now, verdict));
        } else {
            leases.end(identity.deviceId()); // a non-compliant renewal ends the lease (and the flows) now
        }
        touch(identity, now, result);
        observed(result, verdict.reasons().stream().map(ReasonDetail::code).toList());
        return new Decision.Judged(verdict);
    }

    private void observed(String result, List<String> reasons) {
        try {
            observer.decided(result, reasons);
        } catch (RuntimeException e) {
            log.warn("decision observer failed: {}", e.toString()); // counting must never change a decision
        }
    }

    /** Why this device may not prove posture now, or null: re-checked here, as connections outlive changes. */
    private String barred(ClientIdentity identity, Device device) {
        if (device == null) {
            return "device " + identity.deviceId() + " is not in the registry";
        }
        if (device.status() != DeviceStatus.ACTIVE) {
            return "device " + identity.deviceId() + ": expected status active, found " + device.status().wireName();
        }
        return switch (registry.status(identity.serial())) {
            case CertStatus.Good g -> null;
            case CertStatus.Revoked r -> "certificate " + identity.serialHex() + " revoked (" + r.reason() + ") at "
                    + r.revokedAt();
            case CertStatus.Unknown u -> "certificate " + identity.serialHex() + " is not in the registry";
        };
    }

    private void record(AuditEvent.Builder event) {
        audit.record(event.build()); // throws AuditUnavailableException: the caller answers 503
    }

    private void touch(ClientIdentity identity, Instant now, String lastPosture) {
        try {
            registry.touchDevice(identity.deviceId(), now, lastPosture);
        } catch (RegistryException e) {
            // last-seen is bookkeeping; the decision is already durable in the audit trail
            log.warn("cannot note last posture of {}: {}", identity.deviceId(), e.getMessage());
        }
    }
}
