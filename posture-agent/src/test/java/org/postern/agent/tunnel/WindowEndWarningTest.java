package org.postern.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
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
        assertThat(WindowEndWarning.delay("tomorrow", AT_1740, Duration.ofMinutes(10))).isEmpty();
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
}
