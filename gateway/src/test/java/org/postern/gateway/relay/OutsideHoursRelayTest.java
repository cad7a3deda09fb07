package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Hours;

/**
 * Remote-work hours on the CONNECT path, with the test's clock: a tunnel inside its rule's window
 * is admitted and told when the window ends; at the window's end the gateway's sweep
 * ({@code access.endSessionsAtWindowEnd}) ends it with {@code outside_hours}; a new CONNECT then
 * is refused with {@code access.outside_hours} and the remedy naming the next opening.
 */
class OutsideHoursRelayTest {

    private static final RelaySettings SETTINGS =
            new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofSeconds(1));
    private static final ZoneId CASABLANCA = ZoneId.of("Africa/Casablanca");
    /** Monday 2026-12-07 17:59:00 in Casablanca (UTC+1): a minute before the window closes. */
    private static final Instant MONDAY_1759 = Instant.parse("2026-12-07T16:59:00Z");
    private static final Instant MONDAY_1800 = Instant.parse("2026-12-07T17:00:00Z");

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

    private void start(Instant now) throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, rules(Duration.ofMinutes(10)));
        gw.pki.clock.set(now);
        gw.grantLease();
    }

    private AccessRules rules(Duration warn) {
        Hours weekdays = new Hours(List.of(new Hours.Window(EnumSet.range(DayOfWeek.MONDAY, DayOfWeek.FRIDAY), 8 * 60,
                18 * 60)), Set.of());
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("staff-office-hours", List.of("staff"),
                List.of(Destination.parse("127.0.0.1/32:" + host.port())), AccessRules.Rule.DEFAULT_PROTOCOLS, weekdays)),
                CASABLANCA, true, warn);
        return rules;
    }

    /** What GatewayServer's sweep does each second with access.endSessionsAtWindowEnd, in its order. */
    private int sweep(AccessRules rules) {
        Instant now = gw.pki.clock.instant();
        return gw.sessions.endOutsideHours(now, groups -> rules.anyOpenFor(groups, now)) + gw.flows.closeOutsideHours();
    }

    private static void ping(Socket s) throws IOException {
        s.getOutputStream().write('x');
        assertThat(s.getInputStream().read()).isEqualTo('x');
    }

    @Test
    void insideTheWindow_admitted_thenEndedAtTheWindowsEnd_withOutsideHours() throws Exception {
        start(MONDAY_1759);
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.headers()).containsEntry("postern-window-end", "2026-12-07T17:00:00Z")
                .as("access.warnBeforeWindowEnd by default: 10 min").containsEntry("postern-window-warning", "600");
        ping(a.socket());
        AuditEvent open = gw.audit.await("flow.open");
        assertThat(open.fields()).containsEntry("rule", "staff-office-hours").containsEntry("windowEnd", "2026-12-07T17:00:00Z");

        gw.pki.clock.set(MONDAY_1800.minusSeconds(1));
        assertThat(gw.flows.closeOutsideHours()).as("17:59:59: still inside").isZero();
        ping(a.socket());

        gw.pki.clock.set(MONDAY_1800);
        assertThat(gw.flows.closeOutsideHours()).as("18:00:00: to is exclusive").isEqualTo(1);
        assertThat(a.socket().getInputStream().read()).as("the tunnel is cut (bounded by the socket timeout)").isEqualTo(-1);
        AuditEvent close = gw.audit.await("flow.close");
        assertThat(close.fields()).containsEntry("how", "outside_hours").containsEntry("user", "alice")
                .containsEntry("flow", open.fields().get("flow"));
        assertThat(gw.flows.count("laptop-1")).isZero();
        a.socket().close();
        // the HTTP/1.1 connection carried that one tunnel: it went with it, and its session ends for the same reason
        AuditEvent end = gw.audit.await("session.end");
        assertThat(end.fields()).containsEntry("reason", "outside_hours").containsEntry("session", open.fields().get("session"));

        // a new tunnel now is refused, the remedy naming the next opening in the zone
        RelayFixture.Answer again = gw.connect("127.0.0.1:" + host.port());
        assertThat(again.status()).isEqualTo(403);
        assertThat(again.reason()).isEqualTo("access.outside_hours");
        assertThat(again.headers()).containsEntry("postern-remedy", "access opens Tuesday 08:00 Africa/Casablanca");
        again.socket().close();
        AuditEvent denied = gw.audit.await("access.denied");
        assertThat(denied.fields()).containsEntry("reason", "access.outside_hours")
                .containsEntry("remedy", "access opens Tuesday 08:00 Africa/Casablanca")
                .containsEntry("user", "alice").containsEntry("device", "laptop-1");
        assertThat((String) denied.fields().get("detail")).contains("groups [staff] asked for 127.0.0.1:" + host.port(),
                "at 2026-12-07T18:00 Africa/Casablanca, outside the hours of staff-office-hours (08:00-18:00 mon,tue,wed,thu,fri)");
    }

    @Test
    void outsideTheWindow_saturday_refusedWithMondaysOpening() throws Exception {
        start(Instant.parse("2026-12-12T10:00:00Z"));
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("access.outside_hours");
        assertThat(a.headers()).containsEntry("postern-remedy", "access opens Monday 08:00 Africa/Casablanca");
        a.socket().close();
        assertThat(gw.audit.of("flow.open")).isEmpty();
    }

    @Test
    void h2_liveSessionOnlyAWindowAllowed_endsAtTheWindowsEnd_withOutsideHours_theConnectionStays() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        AccessRules rules = rules(Duration.ofMinutes(25));
        gw = RelayFixture.h2(SETTINGS, 4, rules);
        gw.pki.clock.set(MONDAY_1759);
        gw.grantLease();
        try (H2TunnelClient laptop = new H2TunnelClient(gw.transport, gw.port())) {
            H2TunnelClient.Tunnel first = laptop.open("127.0.0.1:" + host.port());
            H2TunnelClient.Tunnel second = laptop.open("127.0.0.1:" + host.port());
            for (H2TunnelClient.Tunnel t : List.of(first, second)) {
                assertThat(t.status.get(5, TimeUnit.SECONDS)).isEqualTo(200);
                Http2Headers h = t.answer.get(5, TimeUnit.SECONDS);
                assertThat(h.get("postern-window-end")).hasToString("2026-12-07T17:00:00Z");
                assertThat(h.get("postern-window-warning")).as("access.warnBeforeWindowEnd: 25m").hasToString("1500");
            }
            gw.audit.await("session.start");
            assertThat(gw.sessions.size()).isEqualTo(1);

            gw.pki.clock.set(MONDAY_1800.minusSeconds(1));
            assertThat(sweep(rules)).as("17:59:59: still inside").isZero();
            assertThat(gw.sessions.size()).isEqualTo(1);

            gw.pki.clock.set(MONDAY_1800);
            assertThat(sweep(rules)).as("the session (its flows with it)").isEqualTo(1);
            assertThat(first.end.get(5, TimeUnit.SECONDS)).isNotEqualTo("closed");
            assertThat(second.end.get(5, TimeUnit.SECONDS)).isNotEqualTo("closed");
            AuditEvent end = gw.audit.await("session.end");
            assertThat(end.fields()).containsEntry("reason", "outside_hours").containsEntry("flows", 2)
                    .containsEntry("user", "alice").containsEntry("device", "laptop-1");
            assertThat(gw.audit.of("flow.close")).hasSize(2).allSatisfy(c ->
                    assertThat(c.fields()).containsEntry("how", "outside_hours"));
            assertThat(gw.sessions.size()).isZero();

            // the connection stays; a tunnel asked for now is refused with the remedy, and starts no session
            H2TunnelClient.Tunnel later = laptop.open("127.0.0.1:" + host.port());
            assertThat(later.status.get(5, TimeUnit.SECONDS)).isEqualTo(403);
            Http2Headers refused = later.answer.get(5, TimeUnit.SECONDS);
            assertThat(refused.get("postern-reason")).hasToString("access.outside_hours");
            assertThat(refused.get("postern-remedy")).hasToString("access opens Tuesday 08:00 Africa/Casablanca");
            assertThat(gw.audit.of("session.start")).hasSize(1);
        }
    }

    @Test
    void h2_sessionWithAnOpenRuleLeft_goesOn_onlyTheWindowedTunnelEnds() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        RelayFixture.AdminHost other = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        try {
            AccessRules windowed = rules(Duration.ofMinutes(10));
            AccessRules rules = windowed.withRules(List.of(windowed.rules().getFirst(),
                    new AccessRules.Rule("staff-always", List.of("staff"),
                            List.of(Destination.parse("127.0.0.1/32:" + other.port())))));
            gw = RelayFixture.h2(SETTINGS, 4, rules);
            gw.pki.clock.set(MONDAY_1759);
            gw.grantLease();
            try (H2TunnelClient laptop = new H2TunnelClient(gw.transport, gw.port())) {
                H2TunnelClient.Tunnel office = laptop.open("127.0.0.1:" + host.port());
                H2TunnelClient.Tunnel always = laptop.open("127.0.0.1:" + other.port());
                assertThat(office.status.get(5, TimeUnit.SECONDS)).isEqualTo(200);
                assertThat(always.status.get(5, TimeUnit.SECONDS)).isEqualTo(200);
                assertThat(always.answer.get().contains("postern-window-end")).isFalse();

                gw.pki.clock.set(MONDAY_1800);
                assertThat(sweep(rules)).as("no session ended, one tunnel cut").isEqualTo(1);
                assertThat(office.end.get(5, TimeUnit.SECONDS)).isNotEqualTo("closed");
                assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "outside_hours");
                assertThat(always.end).isNotDone();
                assertThat(gw.sessions.size()).isEqualTo(1);
                assertThat(gw.audit.of("session.end")).isEmpty();
                always.reset(); // the laptop ends it, so closing the connection need not wait for a live stream
                always.end.get(5, TimeUnit.SECONDS);
            }
        } finally {
            other.close();
        }
    }

    @Test
    void h2_windowedTunnelCut_anOpenRuleLeft_thenTheUserCloses_sessionEndIsClientClosed() throws Exception {
        // review of the hours work: the windowed tunnel, cut at 18:00, was the last flow to end, so closing the
        // HTTP/2 connection later was recorded outside_hours although a rule was open and the session went on
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        RelayFixture.AdminHost other = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        try {
            AccessRules windowed = rules(Duration.ofMinutes(10));
            AccessRules rules = windowed.withRules(List.of(windowed.rules().getFirst(),
                    new AccessRules.Rule("staff-always", List.of("staff"),
                            List.of(Destination.parse("127.0.0.1/32:" + other.port())))));
            gw = RelayFixture.h2(SETTINGS, 4, rules);
            gw.pki.clock.set(MONDAY_1759);
            gw.grantLease();
            try (H2TunnelClient laptop = new H2TunnelClient(gw.transport, gw.port())) {
                H2TunnelClient.Tunnel office = laptop.open("127.0.0.1:" + host.port());
                assertThat(office.status.get(5, TimeUnit.SECONDS)).isEqualTo(200);
                gw.pki.clock.set(MONDAY_1800);
                assertThat(sweep(rules)).as("the windowed tunnel only; staff-always is open").isEqualTo(1);
                assertThat(office.end.get(5, TimeUnit.SECONDS)).isNotEqualTo("closed");
                assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "outside_hours");
                assertThat(gw.sessions.size()).isEqualTo(1);
                gw.pki.clock.set(MONDAY_1800.plus(Duration.ofHours(2)));
                assertThat(sweep(rules)).isZero();
            } // 20:00: the user closes the connection
            assertThat(gw.audit.await("session.end").fields()).containsEntry("reason", "client_closed");
        } finally {
            other.close();
        }
    }

    @Test
    void endSessionsAtWindowEndOff_theAnswerAnnouncesNoWindowEnd_soTheAgentWarnsOfNothing() throws Exception {
        // the gateway will not end the tunnel: Postern-Window-End and -Warning would make the agent warn
        // "the tunnel ends ... save your work" of an end that never comes
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        AccessRules rules = new AccessRules(rules(Duration.ofMinutes(10)).rules(), CASABLANCA, false, Duration.ofMinutes(10));
        gw = new RelayFixture(SETTINGS, rules);
        gw.pki.clock.set(MONDAY_1759);
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.headers()).doesNotContainKeys("postern-window-end", "postern-window-warning");
        ping(a.socket());
        assertThat(gw.audit.await("flow.open").fields()).as("the trail still knows the window")
                .containsEntry("windowEnd", "2026-12-07T17:00:00Z");
        a.socket().close();
        gw.close();

        gw = RelayFixture.h2(SETTINGS, 4, rules);
        gw.pki.clock.set(MONDAY_1759);
        gw.grantLease();
        try (H2TunnelClient laptop = new H2TunnelClient(gw.transport, gw.port())) {
            H2TunnelClient.Tunnel t = laptop.open("127.0.0.1:" + host.port());
            assertThat(t.status.get(5, TimeUnit.SECONDS)).isEqualTo(200);
            Http2Headers h = t.answer.get(5, TimeUnit.SECONDS);
            assertThat(h.contains("postern-window-end")).isFalse();
            assertThat(h.contains("postern-window-warning")).isFalse();
            t.reset();
            t.end.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void windowClosesWhileTheTunnelIsAdmitted_judgedAgain_refusedOutsideHours_noFlowOpens() throws Exception {
        // review of the hours work: the gate passed at 17:59:59, the window closed before the tunnel got its place
        // in a session (here: while session.start was written); it must not open at 18:00
        start(MONDAY_1800.minusSeconds(1));
        gw.audit.onRecord = e -> {
            if (e.type().equals("session.start")) {
                gw.pki.clock.set(MONDAY_1800);
            }
        };
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("access.outside_hours");
        assertThat(a.headers()).containsEntry("postern-remedy", "access opens Tuesday 08:00 Africa/Casablanca");
        a.socket().close();
        assertThat(gw.audit.await("access.denied").fields()).containsEntry("reason", "access.outside_hours");
        assertThat(gw.audit.of("flow.open")).isEmpty();
        assertThat(gw.flows.count("laptop-1")).isZero();
    }

    @Test
    void acrossTheSpringForwardGap_theWindowEndsOnTheWallClock_twoRealHoursAfterOneThirty() throws Exception {
        // Paris, Sunday 2027-03-28: 02:00 CET jumps to 03:00 CEST. The window 01:00-04:00 ends at 04:00 CEST = 02:00Z.
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        Hours sunday = new Hours(List.of(new Hours.Window(EnumSet.of(DayOfWeek.SUNDAY), 60, 4 * 60)), Set.of());
        AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("sunday-maintenance", List.of("staff"),
                List.of(Destination.parse("127.0.0.1/32:" + host.port())), AccessRules.Rule.DEFAULT_PROTOCOLS, sunday)),
                ZoneId.of("Europe/Paris"), true);
        gw = new RelayFixture(SETTINGS, rules);
        gw.pki.clock.set(Instant.parse("2027-03-28T00:30:00Z")); // 01:30 CET
        gw.grantLease(Duration.ofHours(3)); // leases expire on the test clock, which moves by hours here
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.headers()).containsEntry("postern-window-end", "2027-03-28T02:00:00Z");
        gw.pki.clock.set(Instant.parse("2027-03-28T01:00:00Z")); // 03:00 CEST, right after the gap
        assertThat(sweep(rules)).isZero();
        ping(a.socket());
        gw.pki.clock.set(Instant.parse("2027-03-28T01:59:59Z"));
        assertThat(sweep(rules)).isZero();
        gw.pki.clock.set(Instant.parse("2027-03-28T02:00:00Z")); // 04:00 CEST
        assertThat(sweep(rules)).as("the session, its one tunnel with it").isEqualTo(1);
        assertThat(a.socket().getInputStream().read()).isEqualTo(-1);
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "outside_hours");
        assertThat(gw.audit.await("session.end").fields()).containsEntry("reason", "outside_hours");
        a.socket().close();
    }
}
