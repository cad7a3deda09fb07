package org.postern.gateway.selfcheck;

import java.util.List;
import java.util.Objects;

import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;

/**
 * The two settings that trade protection for availability: {@code posture.mode: report-only} lets a
 * non-compliant laptop in (a roll-out setting, a warning), {@code audit.failMode: open} lets sessions
 * in unrecorded when the trail cannot be written (critical: the trail is the auditors' proof).
 */
public final class PolicyModeCheck implements Check {
    static final String NAME = "policy";

    private final PosturePolicy.Mode mode;
    private final GatewaySettings.Audit.FailMode failMode;

    public PolicyModeCheck(PosturePolicy.Mode mode, GatewaySettings.Audit.FailMode failMode) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.failMode = Objects.requireNonNull(failMode, "failMode");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() {
        Finding posture = mode == PosturePolicy.Mode.REPORT_ONLY
                ? new Finding(NAME, Severity.WARNING, "posture.mode: report-only: a laptop that fails the posture policy"
                        + " is let in, and the decision only records what enforcement would have done",
                        "set posture.mode: enforce once the report-only decisions in the audit trail show the laptops comply")
                : Finding.info(NAME, "posture.mode: enforce");
        Finding audit = failMode == GatewaySettings.Audit.FailMode.OPEN
                ? new Finding(NAME, Severity.CRITICAL, "audit.failMode: open: when the audit trail cannot be written,"
                        + " sessions start anyway and are not recorded",
                        "set audit.failMode: closed (the default), and watch free space and the trail's disk instead")
                : Finding.info(NAME, "audit.failMode: closed (no session starts unrecorded)");
        return List.of(posture, audit);
    }
}
