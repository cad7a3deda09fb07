package org.postern.agent.collect.macos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

class SoftwareUpdateHistoryParserTest {
    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

    @Test
    void newestMacosUpdate_notTheNewerSafari_inLocalTime() {
        assertThat(SoftwareUpdateHistoryParser.lastOsUpdate(MacFixtures.read("softwareupdate-history.txt"), PARIS))
                .isEqualTo(Instant.parse("2024-03-28T20:12:13Z"));
    }

    @Test
    void emptyTable_isNull() {
        assertThat(SoftwareUpdateHistoryParser.lastOsUpdate(MacFixtures.read("softwareupdate-history-empty.txt"), PARIS)).isNull();
    }

    @Test
    void twelveHourClock_isRead() {
        String out = "Display Name   Version   Date\n---   ---   ---\nmacOS Sonoma 14.4.1   14.4.1   03/28/2024, 09:12:13 PM\n";

        assertThat(SoftwareUpdateHistoryParser.lastOsUpdate(out, ZoneId.of("UTC"))).isEqualTo(Instant.parse("2024-03-28T21:12:13Z"));
    }

    @Test
    void rowsWithoutReadableDate_areRejected() {
        String out = "Display Name   Version   Date\n------------   -------   ----\nmacOS Sonoma 14.4.1   14.4.1   28.03.2024 21:12\n";

        assertThatThrownBy(() -> SoftwareUpdateHistoryParser.lastOsUpdate(out, PARIS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("softwareupdate --history: expected rows ending in a date like 04/02/2024, 10:12:13, found "
                        + "\"macOS Sonoma 14.4.1 14.4.1 28.03.2024 21:12\"");
    }
}
