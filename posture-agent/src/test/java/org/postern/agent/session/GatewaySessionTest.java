package org.postern.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.security.cert.CRLReason;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.postern.agent.tunnel.CloseReasons;

/** The session's decisions and timing, without a network. */
class GatewaySessionTest {
    static final Instant NOW = Instant.parse("2026-11-30T07:00:00Z");

    static Decision lease(Duration left) {
        return new Decision(true, "enforce", List.of(), NOW.plus(left), "p1", NOW);
    }

    @Test
    void renewIn_isTheMarginBeforeTheEnd() {
        assertThat(GatewaySession.renewIn(lease(Duration.ofMinutes(10)), NOW, Duration.ofMinutes(2))).isEqualTo(Duration.ofMinutes(8));
    }

    @Test
    void renewIn_aLeaseShorterThanTheMargin_isRenewedAtHalfLife() {
        assertThat(GatewaySession.renewIn(lease(Duration.ofSeconds(6)), NOW, Duration.ofMinutes(2))).isEqualTo(Duration.ofSeconds(3));
        assertThat(GatewaySession.renewIn(lease(Duration.ofSeconds(-1)), NOW, Duration.ofMinutes(2))).isZero();
    }

    @Test
    void decision_fromTheGatewaysJson() throws Exception {
        Decision d = Decision.fromJson(new ObjectMapper().readTree("""
                {"compliant":false,"mode":"report-only","reasons":[{"code":"patch.stale","message":"last update 40 days ago",
                "remediation":"Run the updates."}],"leaseUntil":"2026-11-30T07:10:00Z","policyVersion":"p2"}"""), NOW);
        assertThat(d.allowed()).as("report-only lets the device in").isTrue();
        assertThat(d.liveAt(NOW)).isTrue();
        assertThat(d.liveAt(Instant.parse("2026-11-30T07:10:00Z"))).as("not past the lease").isFalse();
        assertThat(d.reasons()).containsExactly(new Decision.Reason("patch.stale", "last update 40 days ago", "Run the updates."));
        assertThatThrownBy(() -> Decision.fromJson(new ObjectMapper().readTree("[1]"), NOW))
                .hasMessageStartingWith("expected the decision JSON {compliant, mode, reasons, leaseUntil, policyVersion}, found array");
    }

    @Test
    void refusal_thatIsNotADecision_becomesOneReason() {
        Decision d = Decision.refusal(403, "device.not_active", "device suspended\n", NOW);
        assertThat(d.allowed()).isFalse();
        assertThat(d.reasons()).containsExactly(new Decision.Reason("device.not_active", "the gateway answered 403: device suspended",
                "This laptop is suspended or revoked; contact IT security."));
    }

    /** Issue 14 review: a gateway that lost its registry (or its trail) is left for the next one, not asked forever. */
    @Test
    void posture503_registryOrAuditUnavailable_isAGatewayFault_otherAnswersAreNot() {
        assertThat(GatewayFault.is(503, "registry.unavailable")).isTrue();
        assertThat(GatewayFault.is(503, "audit.unavailable")).isTrue();
        assertThat(GatewayFault.is(503, "vpn.pool_exhausted")).isFalse();
        assertThat(GatewayFault.is(503, null)).isFalse();
        assertThat(GatewayFault.is(403, "device.not_active")).as("about this laptop").isFalse();
        assertThat(GatewayFault.is(403, "registry.unavailable")).isFalse();
        assertThat(new GatewayFault(503, "registry.unavailable"))
                .hasMessage("the gateway answered 503 registry.unavailable (it cannot decide now)");
    }

    @Test
    void goAway_onlyRevokedOrSuspended_pinToTheGateway() {
        assertThat(GatewaySession.pinsToGateway("revoked")).isTrue();
        assertThat(GatewaySession.pinsToGateway("suspended")).isTrue();
        assertThat(GatewaySession.pinsToGateway("registry_unavailable")).as("the gateway's trouble: fail over").isFalse();
        assertThat(GatewaySession.pinsToGateway("shutdown")).isFalse();
        assertThat(GatewaySession.pinsToGateway("killed")).isFalse();
        assertThat(CloseReasons.describe("registry_unavailable"))
                .isEqualTo("registry_unavailable (the gateway cannot read its device registry)");
    }

    /**
     * A refused handshake ({@code certificate_unknown} is all the JDK provider says, to a revoked
     * laptop and to one refused by a gateway that cannot read its registry alike) pins to the
     * gateway only when the CRL confirms a suspension; revoked is final; anything else moves on.
     */
    @Test
    void refusedHandshake_pinsOnlyWhenTheCrlConfirmsASuspension() {
        Instant since = NOW.minus(Duration.ofHours(1));
        Barred unconfirmed = Barred.of("TLS alert certificate_unknown", "5f0c", Optional.empty(), NOW);
        Barred suspended = Barred.of("TLS alert certificate_unknown", "5f0c",
                Optional.of(new RevocationCheck.Entry(CRLReason.CERTIFICATE_HOLD, since)), NOW);
        Barred revoked = Barred.of("TLS alert certificate_unknown", "5f0c",
                Optional.of(new RevocationCheck.Entry(CRLReason.KEY_COMPROMISE, since)), NOW);
        assertThat(unconfirmed.kind()).isEqualTo(Barred.Kind.REFUSED);
        assertThat(GatewaySession.pinsToGateway(unconfirmed)).as("maybe this gateway's trouble: the next one is tried").isFalse();
        assertThat(GatewaySession.pinsToGateway(suspended)).isTrue();
        assertThat(revoked.isFinal()).isTrue();
    }

    /** Issue 10: evidence rejected under report-only grants no lease, so the agent must not call it allowed. */
    @Test
    void decision_rejectedUnderReportOnly_withoutLease_isNotAllowed() throws Exception {
        Decision d = Decision.fromJson(new ObjectMapper().readTree("""
                {"compliant":false,"mode":"report-only","reasons":[{"code":"evidence.stale","message":"too old",
                "remediation":"Fix the clock."}],"leaseUntil":null,"policyVersion":"p2"}"""), NOW);
        assertThat(d.allowed()).isFalse();
        assertThat(d.liveAt(NOW)).isFalse();
        assertThat(d.toJson()).containsEntry("leaseUntil", null).containsEntry("at", NOW.toString());
    }
}
