package org.postern.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** The agent's warning before a window of remote-work hours ends, and the remedy of a refusal. */
class WindowEndWarningTest {

    private static final Clock AT_1740 = Clock.fixed(Instant.parse("2026-12-07T16:40:00Z"), ZoneOffset.UTC);

    @Test
    void delay_isTheLeadBeforeTheEnd_neverNegative_andMalformedIsIgnored() {
        assertThat(WindowEndWarning.delay("2026-12-07T17:00:00Z", AT_1740, Duration.ofMinutes(10)))
                .contains(Duration.ofMinutes(10));
        assertThat(WindowEndWarning.delay("2026-12-07T16:45:00Z", AT_1740, Duration.ofMinutes(10)))
                .as("less than the lead left: at once").contains(Duration.ZERO);
        assertThat(WindowEndWarning.delay("2026-12-08T16:40:00Z", AT_1740, Duration.ofMinutes(10)))
                .as("a day ahead: the longest window").contains(Duration.ofHours(24).minusMinutes(10));
        // hostile or broken ends: ignored, never an exception out of the tunnel's handler
        for (String bad : List.of("tomorrow", "", "+999999999-12-31T23:59:59Z", "-999999999-01-01T00:00:00Z",
                "2026-12-08T16:40:01Z", "2027-12-07T17:00:00Z", "1970-01-01T00:00:00Z", "2026-12-07T17:00:00", "2026-13-07T17:00:00Z")) {
            assertThat(WindowEndWarning.delay(bad, AT_1740, Duration.ofMinutes(10))).as(bad).isEmpty();
        }
        assertThat(WindowEndWarning.LEAD).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void message_namesTheTunnelAndTheEnd() {
        assertThat(WindowEndWarning.message("db1.internal:5432", "2026-12-07T17:00:00Z")).isEqualTo(
                "the tunnel to db1.internal:5432 ends at 2026-12-07T17:00:00Z: the hours of remote work set for it end then;"
                        + " save your work");
    }

    @Test
    void refusal_showsTheRemedyAfterTheReason() {
        TunnelRefusedException e = TunnelRefusedException.fromGateway("db1.internal:5432", 403, "access.outside_hours",
                "access opens Monday 08:00 Africa/Casablanca");
        assertThat(e.kind()).isEqualTo(TunnelRefusedException.Kind.NOT_ALLOWED);
        assertThat(e.getMessage()).isEqualTo("the gateway refused db1.internal:5432: 403 access.outside_hours;"
                + " access opens Monday 08:00 Africa/Casablanca");
        assertThat(CloseReasons.describe("outside_hours"))
                .isEqualTo("outside_hours (the hours of remote work set for this access ended)");
    }

    @Test
    void lead_isTheGatewaysWholeSeconds_elseTheDefault() {
        assertThat(WindowEndWarning.lead("1500")).isEqualTo(Duration.ofMinutes(25));
        assertThat(WindowEndWarning.lead(" 0 ")).isZero();
        assertThat(WindowEndWarning.lead("86399")).isEqualTo(Duration.ofSeconds(86399));
        assertThat(WindowEndWarning.lead(null)).as("an older gateway: its fixed 10 minutes").isEqualTo(Duration.ofMinutes(10));
        for (String bad : List.of("86400", "-60", "10m", "", "PT10M", "99999999999")) {
            assertThat(WindowEndWarning.lead(bad)).as(bad).isEqualTo(WindowEndWarning.LEAD);
        }
    }

    @Test
    void warning_firesAtTheConfiguredLead_notBefore_andNotAfterTheTunnelCloses() {
        // 16:40 now, the window ends 17:00, the gateway says warn 25 minutes before: 16:35 has passed, warn at once
        List<String> warned = new CopyOnWriteArrayList<>();
        EmbeddedChannel tunnel = new EmbeddedChannel();
        tunnel.freezeTime();
        WindowEndWarning.schedule(tunnel, "db1.internal:5432", "2026-12-07T17:00:00Z", "1500", AT_1740, warned::add);
        tunnel.runScheduledPendingTasks();
        assertThat(warned).hasSize(1);

        // warn 5 minutes before: at 16:55, 15 minutes from now
        warned.clear();
        EmbeddedChannel second = new EmbeddedChannel();
        second.freezeTime();
        WindowEndWarning.schedule(second, "db1.internal:5432", "2026-12-07T17:00:00Z", "300", AT_1740, warned::add);
        second.advanceTimeBy(15 * 60 - 1, TimeUnit.SECONDS);
        second.runScheduledPendingTasks();
        assertThat(warned).as("16:54:59: not yet").isEmpty();
        second.advanceTimeBy(1, TimeUnit.SECONDS);
        second.runScheduledPendingTasks();
        assertThat(warned).containsExactly("the tunnel to db1.internal:5432 ends at 2026-12-07T17:00:00Z: the hours of"
                + " remote work set for it end then; save your work");

        // a lead of 0: no warning at all; a tunnel closed first: none either
        warned.clear();
        EmbeddedChannel none = new EmbeddedChannel();
        none.freezeTime();
        WindowEndWarning.schedule(none, "db1.internal:5432", "2026-12-07T17:00:00Z", "0", AT_1740, warned::add);
        none.advanceTimeBy(30, TimeUnit.MINUTES);
        none.runScheduledPendingTasks();
        EmbeddedChannel closed = new EmbeddedChannel();
        closed.freezeTime();
        WindowEndWarning.schedule(closed, "db1.internal:5432", "2026-12-07T17:00:00Z", "300", AT_1740, warned::add);
        closed.close();
        closed.advanceTimeBy(30, TimeUnit.MINUTES);
        closed.runScheduledPendingTasks();
        assertThat(warned).isEmpty();
        // a hostile end: nothing scheduled, nothing thrown
        EmbeddedChannel hostile = new EmbeddedChannel();
        WindowEndWarning.schedule(hostile, "db1.internal:5432", "+999999999-12-31T23:59:59Z", "600", AT_1740, warned::add);
        assertThat(warned).isEmpty();
        hostile.finishAndReleaseAll();
        tunnel.finishAndReleaseAll();
        second.finishAndReleaseAll();
        none.finishAndReleaseAll();
    }
}
