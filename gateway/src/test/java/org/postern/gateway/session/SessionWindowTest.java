package org.postern.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditSink;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;
import org.postern.gateway.gate.Grounds;

/**
 * The window a session's flows were admitted by: its earliest end and the owner's groups are one
 * value, so the once-a-second sweep never reads a new end beside the groups of before (the review of
 * the hours work: two volatiles read without the lock, the sweep could see the end with the empty
 * groups, find "no rule open" and end the session wrongly).
 */
class SessionWindowTest {

    static final Instant NOON = Instant.parse("2026-12-07T12:00:00Z");
    final AuditSink audit = e -> { };
    final SessionFlows noFlows = new SessionFlows() {
        @Override
        public void closeSession(Session session, FlowEnd how) {
        }

        @Override
        public void onCloseAll(BiConsumer<String, FlowEnd> listener) {
        }
    };
    final Sessions sessions = new Sessions(audit, Runnable::run, Clock.fixed(NOON, ZoneOffset.UTC), noFlows,
            device -> null, FailMode.CLOSED, 8);
    final Session.Who who = new Session.Who("laptop-1", "alice", "01", "ab", "192.0.2.2:40000", "tls");
    final Grounds grounds = new Grounds("compliant", "p1", "0123456789ab-g1");

    @Test
    void windowed_keepsTheEarliestEnd_andTheLatestGroups_readTogether() {
        Session s = sessions.admit(new EmbeddedChannel(), who, grounds);
        assertThat(s.window()).isNull();
        assertThat(s.firstWindowEnd()).isNull();
        s.windowed(NOON.plusSeconds(3600), List.of("staff"));
        s.windowed(NOON.plusSeconds(60), List.of("staff", "ops"));
        s.windowed(NOON.plusSeconds(7200), List.of("ops"));
        assertThat(s.window()).isEqualTo(new Session.Window(NOON.plusSeconds(60), Set.of("ops")));
        assertThat(s.firstWindowEnd()).isEqualTo(NOON.plusSeconds(60));
    }

    @Test
    void sweep_whileWindowsAreRecorded_neverSeesAnEndWithoutItsGroups() throws Exception {
        // a rule of "staff" stays open: no session may end. A sweep that read the end of one moment and the groups
        // of another (empty) would end one. Bounded: at most 3000 sessions and 20 s.
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger wronglyEnded = new AtomicInteger();
        Thread sweeper = Thread.ofPlatform().name("test-sweep").start(() -> {
            while (!done.get()) {
                wronglyEnded.addAndGet(sessions.endOutsideHours(NOON, groups -> groups.contains("staff")));
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        try {
            for (int i = 0; i < 3000 && System.nanoTime() < deadline; i++) {
                Session s = sessions.admit(new EmbeddedChannel(), who, grounds);
                s.windowed(NOON.minusSeconds(1), List.of("staff")); // a window that has ended, for a staff owner
            }
        } finally {
            done.set(true);
            sweeper.join(TimeUnit.SECONDS.toMillis(5));
        }
        assertThat(wronglyEnded).hasValue(0);
        assertThat(sessions.endOutsideHours(NOON, groups -> groups.contains("staff"))).isZero();
        int live = sessions.size();
        assertThat(live).isPositive();
        assertThat(sessions.endOutsideHours(NOON, groups -> false)).as("no rule open: each ends").isEqualTo(live);
    }
}
