package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postern.gateway.session.FlowEnd;
import org.postern.audit.AuditEvent;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.policy.AccessPolicyVersion;
import org.postern.gateway.posture.Lease;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.ReasonDetail;
import org.postern.gateway.session.SessionInfo;

/**
 * Sessions on the CONNECT gate: {@code session.start} durable before the first tunnel's 200, one
 * {@code session} id on every flow record, counters, every way a session ends, and the
 * {@code limits.flowsPerDevice} gate.
 */
class SessionGateTest {

    private static final RelaySettings SETTINGS =
            new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofSeconds(1));

    private RelayFixture gw;
    private RelayFixture.AdminHost host;

    @AfterEach
    void tearDown() throws Exception {
        if (host != null) {
            host.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private void start(FailMode failMode, int flowsPerDevice) throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, failMode, flowsPerDevice, "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
    }

    private RelayFixture.Answer tunnel() throws IOException {
        return gw.connect("127.0.0.1:" + host.port());
    }

    /** One byte there and back: the tunnel is live. */
    private static void ping(Socket s) throws IOException {
        s.getOutputStream().write('x');
        assertThat(s.getInputStream().read()).isEqualTo('x');
    }

    @Test
    void connect_firstTunnel_sessionStartBeforeFlowOpen_sameSessionOnEveryRecord_endCountsTheFlow() throws Exception {
        start(FailMode.CLOSED, 64);
        RelayFixture.Answer a = tunnel();
        assertThat(a.status()).isEqualTo(200);
        ping(a.socket());
        a.socket().getOutputStream().write("four".getBytes());
        a.socket().getInputStream().readNBytes(4);

        List<SessionInfo> live = gw.sessions.sessions();
        assertThat(live).hasSize(1);
        SessionInfo info = live.getFirst();
        assertThat(info.device()).isEqualTo("laptop-1");
        assertThat(info.user()).isEqualTo("alice");
        assertThat(info.via()).isEqualTo("tls");
        assertThat(info.flows()).isEqualTo(1);
        assertThat(info.leaseUntil()).isNotNull();
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.sessions.sessions().getFirst().bytesUp() == 5);

        a.socket().close();
        AuditEvent end = gw.audit.await("session.end");
        List<AuditEvent> all = gw.audit.all();
        List<String> types = all.stream().map(AuditEvent::type).toList();
        assertThat(types).containsSubsequence("session.start", "flow.open", "flow.close", "session.end");
        AuditEvent start = gw.audit.await("session.start");
        String session = (String) start.fields().get("session");
        assertThat(start.fields()).containsEntry("device", "laptop-1").containsEntry("user", "alice")
                .containsEntry("via", "tls").containsKey("source").containsKey("leaseUntil")
                .containsEntry("certSerial", RelayFixture.serial(gw.laptop).toString(16));
        AuditEvent open = gw.audit.await("flow.open");
        assertThat(open.fields()).containsEntry("session", session);
        // issue 15: the lease's posture decision (RelayFixture.grantLease: compliant under "test-1") and the
        // version of the access rules in force, on both records, so an access report needs no join
        String accessVersion = AccessPolicyVersion.of(gw.accessRules, 1);
        assertThat(accessVersion).matches("[0-9a-f]{12}-g1");
        for (AuditEvent e : List.of(start, open)) {
            assertThat(e.fields()).as(e.type()).containsEntry("posture", "compliant")
                    .containsEntry("posturePolicy", "test-1").containsEntry("accessPolicy", accessVersion);
        }
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("session", session);
        assertThat(end.fields()).containsEntry("session", session).containsEntry("reason", "client_closed")
                .containsEntry("flows", 1).containsEntry("bytesUp", 5L).containsEntry("bytesDown", 5L)
                .containsKey("durationMs");
        assertThat(gw.sessions.sessions()).isEmpty();
    }

    /**
     * Issue 15: a device let in by {@code mode: report-only} although not compliant is recorded as
     * such on its session and its flows — an access report must not show it as compliant.
     */
    @Test
    void connect_reportOnlyLease_sessionStartAndFlowOpenSayNonCompliant() throws Exception {
        start(FailMode.CLOSED, 64);
        Instant now = gw.pki.clock.instant();
        gw.leases.put(new Lease(gw.laptop.id(), "alice", gw.laptop.certificate().getSerialNumber(), now,
                new PostureVerdict.NonCompliant(PosturePolicy.Mode.REPORT_ONLY, "rollout-3",
                        List.of(new ReasonDetail("patch.stale", "last update 40 days ago", "install updates")),
                        now.plus(Duration.ofMinutes(10)), List.of())));
        RelayFixture.Answer a = tunnel();
        assertThat(a.status()).isEqualTo(200);
        ping(a.socket());
        for (String type : List.of("session.start", "flow.open")) {
            assertThat(gw.audit.await(type).fields()).as(type).containsEntry("posture", "non_compliant")
                    .containsEntry("posturePolicy", "rollout-3")
                    .containsEntry("accessPolicy", AccessPolicyVersion.of(gw.accessRules, 1));
        }
        a.socket().close();
    }

    @Test
    void connect_auditUnavailable_is503AndNoSessionNoFlowNoConnectThenResumes() throws Exception {
        start(FailMode.CLOSED, 64);
        gw.audit.failing = true;
        RelayFixture.Answer a = tunnel();
        assertThat(a.status()).isEqualTo(503);
        assertThat(a.reason()).isEqualTo("audit.unavailable");
        a.socket().close();
        assertThat(gw.sessions.sessions()).isEmpty();
        assertThat(host.acceptedCount()).as("the admin host was never contacted").isZero();
        assertThat(gw.flows.count("laptop-1")).isZero();
        assertThat(gw.audit.all()).isEmpty();

        gw.audit.failing = false; // the trail is writable again: sessions start again, by themselves
        RelayFixture.Answer b = tunnel();
        assertThat(b.status()).isEqualTo(200);
        ping(b.socket());
        assertThat(gw.audit.await("session.start").fields()).containsEntry("device", "laptop-1");
        b.socket().close();
    }

    @Test
    void connect_auditUnavailableWithFailModeOpen_isLetInUnrecorded() throws Exception {
        start(FailMode.OPEN, 64);
        gw.audit.failing = true;
        RelayFixture.Answer a = tunnel();
        assertThat(a.status()).isEqualTo(200);
        ping(a.socket());
        assertThat(gw.sessions.sessions()).hasSize(1);
        gw.audit.failing = false;
        a.socket().close();
        AuditEvent end = gw.audit.await("session.end");
        assertThat(end.fields()).containsEntry("reason", "client_closed");
        assertThat(gw.audit.of("session.start")).as("never recorded: the trail was down").isEmpty();
    }

    @Test
    void connect_overFlowsPerDevice_is429AndAuditedThenAdmittedWhenOneCloses() throws Exception {
        start(FailMode.CLOSED, 2);
        RelayFixture.Answer one = tunnel();
        RelayFixture.Answer two = tunnel();
        assertThat(one.status()).isEqualTo(200);
        assertThat(two.status()).isEqualTo(200);
        RelayFixture.Answer three = tunnel();
        assertThat(three.status()).isEqualTo(429);
        assertThat(three.reason()).isEqualTo("limits.flows_per_device");
        three.socket().close();
        AuditEvent denied = gw.audit.await("access.denied");
        assertThat(denied.fields()).containsEntry("reason", "limits.flows_per_device").containsEntry("device", "laptop-1");
        assertThat((String) denied.fields().get("detail")).contains("already has 2 tunnels", "limits.flowsPerDevice");
        ping(one.socket()); // the refused one did not disturb the others
        ping(two.socket());

        one.socket().close();
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.flows.count("laptop-1") == 1);
        RelayFixture.Answer four = tunnel();
        assertThat(four.status()).isEqualTo(200);
        ping(four.socket());
        two.socket().close();
        four.socket().close();
    }

    @Test
    void leaseEndsUnrenewed_injectedClock_endsSessionLeaseEndedWithinTwoSeconds() throws Exception {
        start(FailMode.CLOSED, 64);
        RelayFixture.Answer a = tunnel();
        assertThat(a.status()).isEqualTo(200);
        ping(a.socket());
        gw.pki.clock.advance(Duration.ofMinutes(11)); // the ten-minute lease is over
        long t0 = System.nanoTime();
        gw.leases.cleanUp();
        assertThat(readToEnd(a.socket())).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        assertThat(gw.audit.await("session.end").fields()).containsEntry("reason", "lease_ended").containsEntry("flows", 1);
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "lease_ended");
        assertThat(gw.sessions.sessions()).isEmpty();
    }

    @Test
    void kill_liveSession_endsItKilledByTheAdminAndClosesTheTunnel() throws Exception {
        start(FailMode.CLOSED, 64);
        RelayFixture.Answer a = tunnel();
        RelayFixture.Answer b = tunnel();
        ping(a.socket());
        ping(b.socket());
        List<SessionInfo> live = gw.sessions.sessions();
        assertThat(live).hasSize(2);
        String victim = live.getFirst().id();

        assertThat(gw.sessions.kill(victim, "admin:carol")).isTrue();
        AuditEvent end = gw.audit.await("session.end");
        assertThat(end.fields()).containsEntry("session", victim).containsEntry("reason", "killed")
                .containsEntry("by", "admin:carol");
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "killed").containsEntry("session", victim);
        assertThat(gw.sessions.sessions()).extracting(SessionInfo::id).doesNotContain(victim).hasSize(1);
        assertThat(gw.sessions.kill(victim, "admin:carol")).as("already ended").isFalse();
        assertThat(gw.sessions.kill("no-such-session", "admin:carol")).isFalse();
        // one of the two sockets is cut; the other session still relays
        Socket other = gw.audit.await("flow.close").fields().get("source").equals(
                "127.0.0.1:" + a.socket().getLocalPort()) ? b.socket() : a.socket();
        ping(other);
        other.close();
    }

    @ParameterizedTest
    @EnumSource(value = FlowEnd.class, names = {"REVOKED", "SUSPENDED", "NON_COMPLIANT", "LEASE_ENDED"})
    void closeAll_device_endsItsSessionsWithTheMatchingReason(FlowEnd how) throws Exception {
        start(FailMode.CLOSED, 64);
        RelayFixture.Answer a = tunnel();
        ping(a.socket());
        assertThat(gw.flows.closeAll("laptop-1", how)).isEqualTo(1);
        assertThat(readToEnd(a.socket())).isTrue();
        assertThat(gw.audit.await("session.end").fields()).containsEntry("reason", how.wireName());
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", how.wireName());
    }

    @Test
    void shutdown_endsEverySessionGatewayShutdownAndWaitsForTheRecords() throws Exception {
        start(FailMode.CLOSED, 64);
        RelayFixture.Answer a = tunnel();
        RelayFixture.Answer b = tunnel();
        ping(a.socket());
        ping(b.socket());
        assertThat(gw.sessions.shutdown(Duration.ofSeconds(3))).isTrue();
        List<AuditEvent> ends = gw.audit.of("session.end");
        assertThat(ends).hasSize(2).allSatisfy(e -> assertThat(e.fields()).containsEntry("reason", "gateway_shutdown"));
        assertThat(gw.audit.of("flow.close")).hasSize(2)
                .allSatisfy(e -> assertThat(e.fields()).containsEntry("how", "shutdown"));
        assertThat(readToEnd(a.socket())).isTrue();
        assertThat(readToEnd(b.socket())).isTrue();
    }

    @Test
    void quietTunnel_idleTimeout_endsTheSessionIdle() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(new RelaySettings(Duration.ofSeconds(2), Duration.ofMillis(300), Duration.ofSeconds(1)),
                "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
        RelayFixture.Answer a = tunnel();
        assertThat(a.status()).isEqualTo(200);
        assertThat(readToEnd(a.socket())).isTrue();
        assertThat(gw.audit.await("session.end").fields()).containsEntry("reason", "idle");
    }

    private static boolean readToEnd(Socket s) throws IOException {
        s.setSoTimeout(2000);
        InputStream in = s.getInputStream();
        try {
            in.readAllBytes();
            return true;
        } catch (SocketException e) {
            return true; // reset: cut abruptly, as an ended session's tunnel may be
        }
    }
}
