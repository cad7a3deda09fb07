package org.postern.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.gateway.admin.AdminFixture.body;
import static org.postern.gateway.admin.AdminFixture.json;
import static org.postern.gateway.admin.AdminFixture.status;

import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.gateway.session.SessionInfo;
import org.postern.pki.testing.Proc;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.PostureClaims;
import org.postern.gateway.server.GatewayServerIT;

/**
 * The admin listener with real curl and admin certificates from the PKI: both roles read
 * sessions and metrics, only security-admin ends a session, device certificates, revoked admin
 * certificates and connections without a certificate are refused, and every action is audited.
 */
class AdminApiIT {
    AdminFixture f;
    AdminFixture.Files2 security;
    AdminFixture.Files2 auditor;

    @BeforeEach
    void start() throws Exception {
        f = new AdminFixture();
        f.start("rules: []", false);
        security = f.admin("sam", "security-admin");
        auditor = f.admin("audrey", "auditor");
        f.sessions.live.put("s-1", new SessionInfo("s-1", "laptop-1", "alice", "127.0.0.1:50000", "tls",
                Instant.parse("2026-11-30T06:00:00Z"), 2, 1234, 5678, Instant.parse("2026-11-30T06:10:00Z")));
    }

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void sessions_bothRoles_seeTheLiveSessions_andTheReadIsAudited() {
        for (AdminFixture.Files2 who : List.of(security, auditor)) {
            Proc.Result r = f.curlAdmin(who, "GET", "/v1/sessions");
            assertThat(status(r)).as(r.all()).isEqualTo(200);
            JsonNode s = json(r).get("sessions").get(0);
            assertThat(s.get("id").asText()).isEqualTo("s-1");
            assertThat(s.get("device").asText()).isEqualTo("laptop-1");
            assertThat(s.get("user").asText()).isEqualTo("alice");
            assertThat(s.get("bytesDown").asLong()).isEqualTo(5678);
            assertThat(s.get("leaseUntil").asText()).isEqualTo("2026-11-30T06:10:00Z");
        }
        List<JsonNode> reads = f.audit("admin.sessions");
        assertThat(reads).hasSize(2);
        assertThat(reads.get(0).get("admin").asText()).isEqualTo("sam");
        assertThat(reads.get(0).get("role").asText()).isEqualTo("security-admin");
        assertThat(reads.get(1).get("admin").asText()).isEqualTo("audrey");
        assertThat(reads.get(1).get("role").asText()).isEqualTo("auditor");
        assertThat(reads.get(1).get("certSerial").asText()).isNotBlank();
    }

    @Test
    void kill_auditor_isForbidden_withReason_andTheSessionLives() {
        Proc.Result r = f.curlAdmin(auditor, "DELETE", "/v1/sessions/s-1");
        assertThat(status(r)).as(r.all()).isEqualTo(403);
        assertThat(json(r).get("reason").asText()).isEqualTo("admin.role_forbidden");
        assertThat(json(r).get("error").asText()).isEqualTo("role auditor may not kill");
        assertThat(f.sessions.live).containsKey("s-1");
        JsonNode denied = f.audit("admin.denied").getFirst();
        assertThat(denied.get("admin").asText()).isEqualTo("audrey");
        assertThat(denied.get("action").asText()).isEqualTo("kill");
        assertThat(denied.get("session").asText()).isEqualTo("s-1");
    }

    @Test
    void kill_securityAdmin_endsTheSession_unknownIs404() {
        Proc.Result r = f.curlAdmin(security, "POST", "/v1/sessions/s-1/kill");
        assertThat(status(r)).as(r.all()).isEqualTo(200);
        assertThat(json(r).get("killed").asText()).isEqualTo("s-1");
        assertThat(f.sessions.killedBy).containsExactly("s-1 by sam");
        JsonNode kill = f.audit("admin.kill").getFirst();
        assertThat(kill.get("admin").asText()).isEqualTo("sam");
        assertThat(kill.get("result").asText()).isEqualTo("killed");

        Proc.Result again = f.curlAdmin(security, "DELETE", "/v1/sessions/s-1");
        assertThat(status(again)).as(again.all()).isEqualTo(404);
        assertThat(json(again).get("reason").asText()).isEqualTo("session.unknown");
    }

    @Test
    void deviceCertificate_isRefused_andAudited() {
        AdminFixture.Device laptop = f.device("laptop-7");
        Proc.Result r = f.curlAdmin(laptop.files(), "GET", "/v1/sessions");
        assertThat(status(r)).as(r.all()).isEqualTo(403);
        assertThat(json(r).get("reason").asText()).isEqualTo("admin.certificate_refused");
        assertThat(body(r)).doesNotContain("s-1").doesNotContain("laptop-1");
        JsonNode rejected = f.audit("admin.rejected").getFirst();
        assertThat(rejected.get("why").asText()).contains("not an admin certificate");
        assertThat(rejected.get("subject").asText()).contains("laptop-7");
    }

    @Test
    void noClientCertificate_failsTheHandshake() {
        Proc.Result r = f.curlAdmin(null, "GET", "/metrics");
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.stdout()).doesNotContain("postern_");
        assertThat(f.gateway.metrics().scrape())
                .containsPattern("postern_tls_handshake_failures_total\\{cause=\"certificate\",listener=\"admin\"} 1\\.0");
    }

    @Test
    void revokedAdminCertificate_isRefused() throws Exception {
        assertThat(status(f.curlAdmin(auditor, "GET", "/v1/health"))).isEqualTo(200);
        f.revokeInRegistry(org.postern.keys.Pem.readCertificate(auditor.cert()));
        Proc.Result r = f.curlAdmin(auditor, "GET", "/v1/health");
        assertThat(status(r)).as(r.all()).isEqualTo(403);
        assertThat(json(r).get("reason").asText()).isEqualTo("admin.certificate_refused");
        assertThat(f.audit("admin.rejected").getFirst().get("why").asText()).contains("is revoked (keyCompromise)");
    }

    @Test
    void metrics_bothRoles_postureDecisionsMoveTheirCounters() throws Exception {
        Proc.Result before = f.curlAdmin(auditor, "GET", "/metrics");
        assertThat(status(before)).as(before.all()).isEqualTo(200);
        assertThat(body(before)).contains("# TYPE postern_tls_handshakes_total counter")
                .contains("postern_flows_live 0.0").contains("postern_sessions_live 1.0")
                .contains("postern_audit_queue_depth").contains("postern_relay_bytes_total{direction=\"up\"}")
                .doesNotContain("postern_posture_decisions_total{result=\"compliant\"}");

        AdminFixture.Device laptop = f.device("laptop-2");
        assertThat(f.compliant(laptop).get("compliant").asBoolean()).isTrue();
        JsonNode refused = f.posture(laptop, (nonce, now) -> unencrypted(laptop.id(), nonce, now));
        assertThat(refused.get("compliant").asBoolean()).as(refused.toString()).isFalse();

        Proc.Result after = f.curlAdmin(security, "GET", "/metrics");
        assertThat(body(after)).contains("postern_posture_decisions_total{result=\"compliant\"} 1.0")
                .contains("postern_posture_decisions_total{result=\"non_compliant\"} 1.0")
                .contains("postern_posture_decision_reasons_total{reason=\"disk.not_encrypted\",result=\"non_compliant\"} 1.0")
                .containsPattern("postern_tls_handshakes_total\\{listener=\"tunnel\"} [1-9]");
    }

    @Test
    void health_andErrors_areJson() {
        Proc.Result h = f.curlAdmin(auditor, "GET", "/v1/health");
        assertThat(status(h)).as(h.all()).isEqualTo(200);
        assertThat(json(h).get("status").asText()).isEqualTo("ok");
        assertThat(json(h).get("gateway").asText()).isEqualTo("gw-admin-test");
        assertThat(json(h).get("sessions").asInt()).isEqualTo(1);

        Proc.Result missing = f.curlAdmin(auditor, "GET", "/v1/nothing");
        assertThat(status(missing)).isEqualTo(404);
        assertThat(json(missing).get("reason").asText()).isEqualTo("admin.not_found");
        Proc.Result wrong = f.curlAdmin(auditor, "POST", "/metrics");
        assertThat(status(wrong)).isEqualTo(405);
        assertThat(json(wrong).get("error").asText()).isEqualTo("expected GET, found POST /metrics");
    }

    /** As the compliant laptop, but the system volume is not encrypted. */
    static PostureClaims unencrypted(String id, String nonce, Instant now) {
        PostureClaims ok = GatewayServerIT.claims(id, nonce, now);
        return PostureClaims.of(nonce, id, now, ok.agent(), new PostureClaims.Facts(ok.os(),
                new DiskFacts("/", false, null, false, DiskFacts.FULLY_DECRYPTED, null), ok.patch(), ok.collector(),
                ok.errors()));
    }
}
