package org.postern.gateway.posture;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Objects;

import org.postern.protocol.posture.PostureVerdict;

/**
 * A device's right to stay connected, from an allowed posture decision until {@link #until()}.
 * The verdict says whether the device was compliant or let in by {@code report-only}.
 *
 * @param deviceId   the device
 * @param owner      the device's owner in the registry, or null when unknown
 * @param certSerial the certificate the evidence was verified against
 * @param decidedAt  when the decision was taken
 * @param verdict    the allowed verdict ({@link PostureVerdict#allowed()})
 */
public record Lease(String deviceId, String owner, BigInteger certSerial, Instant decidedAt, PostureVerdict verdict) {

    public Lease {
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(certSerial, "certSerial");
        Objects.requireNonNull(decidedAt, "decidedAt");
        Objects.requireNonNull(verdict, "verdict");
        if (!verdict.allowed()) {
            throw new IllegalArgumentException("lease for " + deviceId + ": expected an allowed verdict, found one"
                    + " that denies (no leaseUntil)");
        }
    }

    /** {@code compliant} or {@code non_compliant} (let in by report-only): the {@code result} its {@code posture.decision} recorded. */
    public String result() {
        return result(verdict);
    }

    /** The {@code result} of {@code posture.decision} for a judged verdict: {@code compliant} or {@code non_compliant}. */
    public static String result(PostureVerdict verdict) {
        return verdict.compliant() ? "compliant" : "non_compliant";
    }

    /** The version of the posture policy the decision was made under ({@code policyVersion} of its {@code posture.decision}). */
    public String policyVersion() {
        return verdict.policyVersion();
    }

    /** When the lease ends unless renewed. */
    public Instant until() {
        return verdict.leaseUntil();
    }

    /** Whether the lease still holds at {@code now}. */
    public boolean liveAt(Instant now) {
        return now.isBefore(until());
    }
}
