package org.postern.protocol.posture;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.postern.config.posture.PosturePolicy;

class DecisionJsonTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant UNTIL = Instant.parse("2026-12-01T09:10:00Z");

    @Test
    void compliantVerdict_writesTheKeysInOrder_andReadsBack() throws Exception {
        DecisionJson d = DecisionJson.of(new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "p1", UNTIL, List.of()));
        String text = JSON.writeValueAsString(d.toMap());
        assertThat(text).isEqualTo("{\"compliant\":true,\"mode\":\"enforce\",\"reasons\":[],"
                + "\"leaseUntil\":\"2026-12-01T09:10:00Z\",\"policyVersion\":\"p1\"}");
        assertThat(DecisionJson.fromJson(JSON.readTree(text))).isEqualTo(d);
        assertThat(d.allowed()).isTrue();
    }

    @Test
    void allowed_isHavingALease_onBothSides() {
        PostureVerdict reportOnly = new PostureVerdict.NonCompliant(PosturePolicy.Mode.REPORT_ONLY, "p1",
                List.of(new ReasonDetail("patch.stale", "40 days", "update")), UNTIL, List.of());
        assertThat(DecisionJson.of(reportOnly).allowed()).isTrue().isEqualTo(reportOnly.allowed());
        PostureVerdict enforced = new PostureVerdict.NonCompliant(PosturePolicy.Mode.ENFORCE, "p1",
                List.of(new ReasonDetail("patch.stale", "40 days", "update")), null, List.of());
        assertThat(DecisionJson.of(enforced).allowed()).isFalse().isEqualTo(enforced.allowed());
    }

    /**
     * Issue 10: the agent called a decision "allowed" when its mode was report-only, so evidence
     * the gateway rejected under report-only (no lease granted) read as allowed on the laptop.
     */
    @Test
    void rejectedEvidenceUnderReportOnly_isNotAllowed() {
        DecisionJson rejected = new DecisionJson(false, "report-only",
                List.of(new DecisionJson.Item("evidence.stale", "too old", "fix the clock")), null, "p1");
        assertThat(rejected.allowed()).isFalse();
    }
}
