package org.postern.protocol.posture;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.postern.config.posture.PosturePolicy.Mode;

/**
 * The outcome of {@link PostureEvaluator#evaluate}: {@link Compliant} or {@link NonCompliant},
 * with the policy mode and version that judged and one {@link CheckResult} per check.
 *
 * <p>Report-only: a {@link NonCompliant} verdict under {@code mode: report-only} lists every
 * reason exactly as enforcement would, and carries a {@link #leaseUntil()} as a compliant one
 * does; the gateway lets the device in and records the reasons. Under {@code enforce} a
 * non-compliant verdict has no lease. {@link #allowed()} is the one question the gateway asks.
 */
public sealed interface PostureVerdict permits PostureVerdict.Compliant, PostureVerdict.NonCompliant {

    Mode mode();

    String policyVersion();

    /** Every reason, in check order; empty for a compliant verdict. */
    List<ReasonDetail> reasons();

    /** One line per check, in a fixed order: disk, os, patch…, agent, cert, then unknown checks. */
    List<CheckResult> checks();

    /** Whether every check passed. */
    boolean compliant();

    /** Until when the device may stay connected: now + lease, or null when enforcement denies. */
    Instant leaseUntil();

    /** Whether the gateway lets the device in: compliant, or not compliant under report-only. */
    default boolean allowed() {
        return DecisionJson.allowed(leaseUntil());
    }

    /** Every check passed; {@code leaseUntil} is now + the policy's lease. */
    record Compliant(Mode mode, String policyVersion, Instant leaseUntil, List<CheckResult> checks)
            implements PostureVerdict {

        public Compliant {
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(policyVersion, "policyVersion");
            Objects.requireNonNull(leaseUntil, "leaseUntil");
            checks = List.copyOf(checks);
            if (!checks.stream().allMatch(CheckResult::passed)) {
                throw new IllegalArgumentException("a compliant verdict cannot hold a failed check");
            }
        }

        @Override
        public List<ReasonDetail> reasons() {
            return List.of();
        }

        @Override
        public boolean compliant() {
            return true;
        }
    }

    /**
     * At least one check failed; {@code reasons} lists all of them. {@code leaseUntil} is null
     * under {@code enforce} and now + lease under {@code report-only}.
     */
    record NonCompliant(Mode mode, String policyVersion, List<ReasonDetail> reasons, Instant leaseUntil,
                        List<CheckResult> checks) implements PostureVerdict {

        public NonCompliant {
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(policyVersion, "policyVersion");
            reasons = List.copyOf(reasons);
            checks = List.copyOf(checks);
            if (reasons.isEmpty()) {
                throw new IllegalArgumentException("a non-compliant verdict needs at least one reason");
            }
            if ((leaseUntil != null) != (mode == Mode.REPORT_ONLY)) {
                throw new IllegalArgumentException("a non-compliant verdict has a lease exactly under report-only");
            }
        }

        @Override
        public boolean compliant() {
            return false;
        }
    }
}
