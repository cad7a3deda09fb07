package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.config.posture.PosturePolicy.Mode;

class PolicyModeCheckTest {

    @Test
    void enforce_failClosed_onlyInfo() {
        List<Finding> f = new PolicyModeCheck(Mode.ENFORCE, FailMode.CLOSED).run();
        assertThat(f).extracting(Finding::severity).containsExactly(Severity.INFO, Severity.INFO);
    }

    @Test
    void reportOnly_isWarning() {
        Finding w = Findings.only(new PolicyModeCheck(Mode.REPORT_ONLY, FailMode.CLOSED).run(), Severity.WARNING);
        assertThat(w.message()).startsWith("posture.mode: report-only: a laptop that fails the posture policy is let in");
        assertThat(w.fix()).startsWith("set posture.mode: enforce");
    }

    @Test
    void failModeOpen_isCritical() {
        Finding c = Findings.only(new PolicyModeCheck(Mode.ENFORCE, FailMode.OPEN).run(), Severity.CRITICAL);
        assertThat(c.message()).isEqualTo("audit.failMode: open: when the audit trail cannot be written, sessions start"
                + " anyway and are not recorded");
        assertThat(c.fix()).startsWith("set audit.failMode: closed");
    }
}
