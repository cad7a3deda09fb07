package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.LocalDateTime;

import org.junit.jupiter.api.Test;

class AptHistoryTest {

    @Test
    void lastUpgrade_skipsErrorInstallOnlyAndUnfinishedEntries() {
        // history.log: upgrade 03-02, failed upgrade 03-05 (Error:), upgrade 03-10, install-only 03-11,
        // upgrade 03-12 without End-Date (interrupted).
        assertThat(AptHistory.lastUpgrade(Fixtures.text("luks2-laptop", "var/log/apt/history.log")))
                .contains(LocalDateTime.of(2024, 3, 10, 9, 15, 47));
    }

    @Test
    void lastUpgrade_rotatedGzip_isRead() throws IOException {
        String text = new RootFs(Fixtures.root("luks2-laptop")).readGzip("var/log/apt/history.log.1.gz");
        assertThat(AptHistory.lastUpgrade(text)).contains(LocalDateTime.of(2024, 2, 1, 7, 31, 55));
    }

    @Test
    void lastUpgrade_unattendedUpgrade_counts() {
        assertThat(AptHistory.lastUpgrade(Fixtures.text("lvm-on-luks", "var/log/apt/history.log")))
                .contains(LocalDateTime.of(2024, 4, 2, 6, 25, 19));
    }

    @Test
    void lastUpgrade_onlyInstalls_isEmpty() {
        assertThat(AptHistory.lastUpgrade("""
                Start-Date: 2024-03-11  14:02:10
                Commandline: apt-get install -y htop
                Install: htop:amd64 (3.2.2-2)
                End-Date: 2024-03-11  14:02:12
                """)).isEmpty();
        assertThat(AptHistory.lastUpgrade("")).isEmpty();
    }

    @Test
    void lastUpgrade_entriesOutOfOrder_takesTheLatest() {
        assertThat(AptHistory.lastUpgrade("""
                Upgrade: a:amd64 (1, 2)
                End-Date: 2024-05-01  10:00:00

                Upgrade: b:amd64 (1, 2)
                End-Date: 2024-04-01  10:00:00
                """)).contains(LocalDateTime.of(2024, 5, 1, 10, 0));
    }

    @Test
    void date_twoSpacesAndBadInput() {
        assertThat(AptHistory.date(" 2024-03-10  09:15:47")).contains(LocalDateTime.of(2024, 3, 10, 9, 15, 47));
        assertThat(AptHistory.date("2024-03-10")).isEmpty();
        assertThat(AptHistory.date("yesterday at noon")).isEmpty();
    }
}
