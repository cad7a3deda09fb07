package org.postern.gateway.gate;

import java.util.Objects;

import org.postern.audit.AuditEvent;
import org.postern.gateway.posture.Lease;

/**
 * What a device was let in on, as {@code session.start} and {@code flow.open} name it, so an access
 * report needs no join with {@code posture.decision} or {@code admin.reload}:
 *
 * @param posture       the {@code result} of the posture decision behind the lease ({@code compliant},
 *                      or {@code non_compliant} let in by {@code mode: report-only})
 * @param posturePolicy the posture policy version that decision was made under (its {@code policyVersion})
 * @param accessPolicy  the version of the access policy that decided ({@code AccessPolicyVersion})
 */
public record Grounds(String posture, String posturePolicy, String accessPolicy) {

    public Grounds {
        Objects.requireNonNull(posture, "posture");
        Objects.requireNonNull(posturePolicy, "posturePolicy");
        Objects.requireNonNull(accessPolicy, "accessPolicy");
    }

    /** The grounds of a pass on {@code lease} under the access policy {@code accessPolicy}. */
    public static Grounds of(Lease lease, String accessPolicy) {
        return new Grounds(lease.result(), lease.policyVersion(), accessPolicy);
    }

    /** Adds {@code posture}, {@code posturePolicy} and {@code accessPolicy} to {@code event}. */
    public AuditEvent.Builder addTo(AuditEvent.Builder event) {
        return event.with("posture", posture)
                .with("posturePolicy", posturePolicy)
                .with("accessPolicy", accessPolicy);
    }
}
