package org.postern.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.gateway.gate.Grounds;

/** {@link Session#onEnd}: a carrier that is not a relay flow (a VPN link) hears its session end, once, with the reason. */
class SessionEndListenerTest {

    final List<AuditEvent> records = new CopyOnWriteArrayList<>();
    final AuditSink audit = records::add;
    final SessionFlows noFlows = new SessionFlows() {
        @Override
        public void closeSession(Session session, FlowEnd how) {
        }

        @Override
        public void onCloseAll(BiConsumer<String, FlowEnd> listener) {
        }
    };
    final Sessions sessions = new Sessions(audit, Runnable::run, Clock.systemUTC(), noFlows, device -> null, FailMode.CLOSED, 8);
    final Session.Who who = new Session.Who("laptop-1", "alice", "01", "ab", "192.0.2.2:40000", "vpn");
    final Grounds grounds = new Grounds("compliant", "p1", "0123456789ab-g1");

    @Test
    void endTellsEachListenerOnce_withTheReason_andSessionEndWaitsForTheCarriersFlows() {
        Session s = sessions.admit(new EmbeddedChannel(), who, grounds);
        List<SessionEnd> heard = new ArrayList<>();
        assertThat(s.tryAddFlow()).isTrue(); // a VPN flow counts like a relay flow
        s.onEnd(why -> {
            heard.add(why);
            s.flowGone(); // the carrier closes its flow (its flow.close written) when told
        });
        assertThat(s.end(SessionEnd.REVOKED, null)).isTrue();
        assertThat(s.end(SessionEnd.KILLED, "ops")).isFalse();
        assertThat(heard).containsExactly(SessionEnd.REVOKED);
        assertThat(records).extracting(AuditEvent::type).containsExactly("session.start", "session.end");
    }

    /**
     * Issue 14 review: a stale registry view ends every session of every device — a VPN link hears
     * {@code registry_unavailable} — and closes their connections (the device may not stay on them).
     */
    @Test
    void endAll_endsEverySession_vpnLinksHearIt_connectionsClose() {
        EmbeddedChannel vpnConnection = new EmbeddedChannel();
        EmbeddedChannel tunnelConnection = new EmbeddedChannel();
        Session vpn = sessions.admit(vpnConnection, who, grounds);
        Session tunnel = sessions.admit(tunnelConnection, new Session.Who("laptop-2", "bob", "02", "cd", "192.0.2.3:40000", "tls"), grounds);
        List<SessionEnd> heard = new ArrayList<>();
        vpn.onEnd(heard::add);

        assertThat(sessions.endAll(SessionEnd.REGISTRY_UNAVAILABLE)).isEqualTo(2);
        assertThat(heard).containsExactly(SessionEnd.REGISTRY_UNAVAILABLE);
        assertThat(tunnel.ended()).isEqualTo(SessionEnd.REGISTRY_UNAVAILABLE);
        assertThat(vpnConnection.isOpen()).isFalse();
        assertThat(tunnelConnection.isOpen()).isFalse();
        assertThat(sessions.size()).isZero();
        assertThat(records).filteredOn(r -> r.type().equals("session.end")).hasSize(2)
                .allSatisfy(r -> assertThat(r.fields().get("reason")).isEqualTo("registry_unavailable"));
        assertThat(SessionEnd.REGISTRY_UNAVAILABLE.wireName()).isEqualTo("registry_unavailable");
        assertThat(SessionEnd.of(FlowEnd.REGISTRY_UNAVAILABLE)).isEqualTo(SessionEnd.REGISTRY_UNAVAILABLE);
        assertThat(sessions.endAll(SessionEnd.REGISTRY_UNAVAILABLE)).as("nothing left to end").isZero();
    }

    @Test
    void listenerAddedAfterTheEnd_isToldAtOnce() {
        Session s = sessions.admit(new EmbeddedChannel(), who, grounds);
        s.end(SessionEnd.LEASE_ENDED, null);
        List<SessionEnd> heard = new ArrayList<>();
        s.onEnd(heard::add);
        assertThat(heard).containsExactly(SessionEnd.LEASE_ENDED);
    }
}
