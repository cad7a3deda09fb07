package org.postern.gateway.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.registry.RevocationReason;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.Reason;
import org.postern.protocol.posture.ReasonDetail;

class PostureServiceTest {

    final PostureFixture f = new PostureFixture();

    @AfterEach
    void close() {
        f.close();
    }

    Decision submit(org.postern.pki.testing.TestPki.Enrolled device, String jws) {
        return f.service.evidence(f.identity(device), jws, "192.0.2.7:50123");
    }

    static PostureVerdict judged(Decision d) {
        assertThat(d).isInstanceOf(Decision.Judged.class);
        return ((Decision.Judged) d).verdict();
    }

    static Reason rejected(Decision d) {
        assertThat(d).isInstanceOf(Decision.Rejected.class);
        return ((Decision.Rejected) d).error().reason();
    }

    @Test
    void evidence_compliant_storesLeaseAuditsAndTouchesRegistry() throws Exception {
        String jws = f.freshEvidence(f.laptop);
        Instant now = f.clock.instant();

        PostureVerdict v = judged(submit(f.laptop, jws));

        assertThat(v.compliant()).isTrue();
        assertThat(v.leaseUntil()).isEqualTo(now.plus(Duration.ofMinutes(10)));
        Lease lease = f.leases.current("laptop-1").orElseThrow();
        assertThat(lease.until()).isEqualTo(v.leaseUntil());
        assertThat(lease.owner()).isEqualTo("alice");
        assertThat(lease.certSerial()).isEqualTo(f.laptop.certificate().getSerialNumber());

        AuditEvent e = f.audit.last("posture.decision");
        Map<String, Object> fields = e.fields();
        assertThat(fields).containsEntry("device", "laptop-1").containsEntry("user", "alice")
                .containsEntry("certSerial", f.laptop.certificate().getSerialNumber().toString(16))
                .containsEntry("certSha256", Evidence.certificateSha256(f.laptop.certificate()))
                .containsEntry("source", "192.0.2.7:50123")
                .containsEntry("evidenceSha256", Evidence.evidenceSha256(jws))
                .containsEntry("policyVersion", "default").containsEntry("mode", "enforce")
                .containsEntry("result", "compliant").containsEntry("reasons", List.of())
                .containsEntry("leaseUntil", v.leaseUntil().toString());
        assertThat(f.pki.registry.device("laptop-1").orElseThrow().lastPosture()).isEqualTo("compliant");
        assertThat(f.pki.registry.device("laptop-1").orElseThrow().lastSeen()).isNotNull();
    }

    @Test
    void evidence_nonCompliantUnderEnforce_noLeaseAndEndsTheCurrentOne() throws Exception {
        judged(submit(f.laptop, f.freshEvidence(f.laptop)));
        Lease first = f.leases.current("laptop-1").orElseThrow();
        f.policy = PostureFixture.needsDebian13(PosturePolicy.Mode.ENFORCE);

        PostureVerdict v = judged(submit(f.laptop, f.freshEvidence(f.laptop)));

        assertThat(v.compliant()).isFalse();
        assertThat(v.allowed()).isFalse();
        assertThat(v.leaseUntil()).isNull();
        assertThat(v.reasons()).extracting(ReasonDetail::code).containsExactly("os.too_old");
        assertThat(f.leases.current("laptop-1")).isEmpty();
        assertThat(f.gone).containsExactly(Map.entry(first, LeaseStore.End.ENDED));
        assertThat(f.audit.last("posture.decision").fields()).containsEntry("result", "non_compliant")
                .containsEntry("reasons", List.of("os.too_old")).containsEntry("policyVersion", "strict-1")
                .containsEntry("allowed", false).doesNotContainKey("leaseUntil");
    }

    @Test
    void evidence_nonCompliantUnderReportOnly_isLetInWithReasons() throws Exception {
        f.policy = PostureFixture.needsDebian13(PosturePolicy.Mode.REPORT_ONLY);

        PostureVerdict v = judged(submit(f.laptop, f.freshEvidence(f.laptop)));

        assertThat(v.compliant()).isFalse();
        assertThat(v.allowed()).isTrue();
        assertThat(v.mode()).isEqualTo(PosturePolicy.Mode.REPORT_ONLY);
        assertThat(v.reasons()).extracting(ReasonDetail::code).containsExactly("os.too_old");
        assertThat(f.leases.current("laptop-1")).isPresent();
        assertThat(f.audit.last("posture.decision").fields()).containsEntry("result", "non_compliant")
                .containsEntry("mode", "report-only").containsEntry("allowed", true);
    }

    @Test
    void evidence_replayed_isNonceUnknown() throws Exception {
        String jws = f.freshEvidence(f.laptop);
        judged(submit(f.laptop, jws));

        assertThat(rejected(submit(f.laptop, jws))).isEqualTo(Reason.EVIDENCE_NONCE_UNKNOWN);
        assertThat(f.audit.last("posture.decision").fields()).containsEntry("result", "rejected")
                .containsEntry("reasons", List.of("evidence.nonce_unknown"));
        assertThat((String) f.audit.last("posture.decision").fields().get("detail"))
                .startsWith("evidence.nonce_unknown: eat_nonce: expected a live challenge issued to laptop-1");
    }

    @Test
    void evidence_withAnotherDevicesNonce_isRejected_andThatNonceStillServesItsDevice() throws Exception {
        String theirs = f.service.challenge(f.identity(f.other)).nonce();

        assertThat(rejected(submit(f.laptop, f.evidence(f.laptop, theirs)))).isEqualTo(Reason.EVIDENCE_NONCE_UNKNOWN);
        assertThat(f.leases.current("laptop-1")).isEmpty();

        assertThat(judged(submit(f.other, f.evidence(f.other, theirs))).compliant()).isTrue();
    }

    @Test
    void evidence_signedByAnotherDevicesKey_isBadSignature() throws Exception {
        String nonce = f.service.challenge(f.identity(f.laptop)).nonce();
        String forged = Evidence.sign(f.claims("laptop-1", nonce), f.other.keys().getPrivate(),
                f.laptop.certificate());

        assertThat(rejected(submit(f.laptop, forged))).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
        assertThat(f.leases.current("laptop-1")).isEmpty();
        // forged evidence does not burn the challenge: the real agent can still answer it
        assertThat(judged(submit(f.laptop, f.evidence(f.laptop, nonce))).compliant()).isTrue();
    }

    @Test
    void evidence_anotherDevicesEvidenceOnThisConnection_isBadSignature() throws Exception {
        assertThat(rejected(submit(f.laptop, f.freshEvidence(f.other)))).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
    }

    @Test
    void evidence_stale_isRejectedAndTheCurrentLeaseRunsOn() throws Exception {
        judged(submit(f.laptop, f.freshEvidence(f.laptop)));
        String nonce = f.service.challenge(f.identity(f.laptop)).nonce();
        String old = Evidence.sign(f.claims("laptop-1", nonce, f.clock.instant().minus(Duration.ofMinutes(5))),
                f.laptop.keys().getPrivate(), f.laptop.certificate());

        assertThat(rejected(submit(f.laptop, old))).isEqualTo(Reason.EVIDENCE_STALE);
        assertThat(f.leases.current("laptop-1")).isPresent();
        assertThat(f.gone).isEmpty();
    }

    @Test
    void evidence_missing_isMalformed() {
        assertThat(rejected(submit(f.laptop, null))).isEqualTo(Reason.EVIDENCE_MALFORMED);
        assertThat(f.audit.last("posture.decision").fields()).doesNotContainKey("evidenceSha256");
    }

    @Test
    void evidence_auditUnavailable_failsClosedWithoutLease() throws Exception {
        String jws = f.freshEvidence(f.laptop);
        f.audit.failing = true;

        assertThatThrownBy(() -> submit(f.laptop, jws)).isInstanceOf(AuditUnavailableException.class)
                .hasMessageContaining("disk full");

        assertThat(f.leases.current("laptop-1")).isEmpty();
        assertThat(f.pki.registry.device("laptop-1").orElseThrow().lastPosture()).isNull();
    }

    @Test
    void evidence_deviceRevokedSinceHandshake_isRefusedAndLeaseEnded() throws Exception {
        judged(submit(f.laptop, f.freshEvidence(f.laptop)));
        String jws = f.freshEvidence(f.laptop);
        f.pki.service.revoke("laptop-1", RevocationReason.lost, "test");

        Decision d = submit(f.laptop, jws);

        assertThat(d).isEqualTo(new Decision.Refused("device.not_active", "device is not active"));
        assertThat(f.leases.current("laptop-1")).isEmpty();
        assertThat(f.audit.last("posture.decision").fields()).containsEntry("result", "rejected")
                .containsEntry("reasons", List.of("device.not_active"))
                .containsEntry("detail", "device laptop-1: expected status active, found revoked");
    }
}
