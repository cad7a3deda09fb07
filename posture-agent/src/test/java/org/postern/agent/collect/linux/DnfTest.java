package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalDateTime;

import org.junit.jupiter.api.Test;

class DnfTest {

    @Test
    void lastUpgrade_skipsInstallAbortedAndFailed() {
        // 14 install only, 13 aborted (*), 12 "I, U" with error output (EE: completed), 11 non-zero (#).
        assertThat(Dnf.lastUpgrade(Fixtures.text("luks-on-lvm", "commands/dnf-history-list.txt")))
                .contains(LocalDateTime.of(2024, 3, 9, 8, 5));
    }

    @Test
    void lastUpgrade_noUpgrade_isEmpty() {
        assertThat(Dnf.lastUpgrade("""
                ID     | Command line  | Date and time    | Action(s)      | Altered
                --------------------------------------------------------------------
                     1 |               | 2023-11-14 14:30 | Install        | 1834 >
                """)).isEmpty();
        assertThat(Dnf.lastUpgrade("")).isEmpty();
    }

    @Test
    void securityList_dnf4_countsRowsWithoutDates() {
        var p = Dnf.securityList(Fixtures.text("luks-on-lvm", "commands/dnf-updateinfo-list-security.txt"));
        assertThat(p.count()).isEqualTo(3);
        assertThat(p.oldestIssued()).isEmpty();
    }

    @Test
    void securityList_dnf5_readsIssueDates() {
        var p = Dnf.securityList(Fixtures.text("luks-on-lvm", "commands/dnf5-advisory-list.txt"));
        assertThat(p.count()).isEqualTo(2);
        assertThat(p.oldestIssued()).contains(LocalDateTime.of(2024, 4, 19, 3, 2, 12));
    }

    @Test
    void securityList_empty_isZero() {
        assertThat(Dnf.securityList("").count()).isZero();
        assertThat(Dnf.securityList("FEDORA-2024-1 bugfix foo-1.0-1.fc39.x86_64\n").count()).isZero();
    }
}
