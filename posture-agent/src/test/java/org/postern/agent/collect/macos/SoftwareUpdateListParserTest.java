package org.postern.agent.collect.macos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SoftwareUpdateListParserTest {

    @Test
    void noneOnStderr_exit1_isZero() {
        assertThat(SoftwareUpdateListParser.securityPending(1, MacFixtures.read("softwareupdate-list-none.stdout.txt"),
                MacFixtures.read("softwareupdate-list-none.stderr.txt"), "14")).isZero();
    }

    @Test
    void noneOnStderr_exit0_isZero() {
        assertThat(SoftwareUpdateListParser.securityPending(0, "", "No new software available.\n", "14")).isZero();
    }

    @Test
    void newFormat_countsMinorUpdateOfInstalledRelease_notSafariUpgradeOrTools() {
        String out = MacFixtures.read("softwareupdate-list-new.txt");

        assertThat(SoftwareUpdateListParser.updates(out)).extracting(SoftwareUpdateListParser.Update::version)
                .containsExactly("14.4.1", "17.4.1", "15.0", "15.3");
        assertThat(SoftwareUpdateListParser.securityPending(0, out, "", "14")).isEqualTo(1);
    }

    @Test
    void newFormat_installedReleaseUnknown_everyMacosUpdateCounts() {
        assertThat(SoftwareUpdateListParser.securityPending(0, MacFixtures.read("softwareupdate-list-new.txt"), "", null)).isEqualTo(2);
    }

    @Test
    void backgroundSecurityImprovement_counts_majorUpgradeDoesNot() {
        assertThat(SoftwareUpdateListParser.securityPending(0, MacFixtures.read("softwareupdate-list-bsi.txt"), "", "26")).isEqualTo(1);
    }

    @Test
    void oldFormat_securityUpdateAndSupplementalUpdateCount_appsDoNot() {
        String out = MacFixtures.read("softwareupdate-list-old.txt");

        assertThat(SoftwareUpdateListParser.updates(out)).extracting(SoftwareUpdateListParser.Update::title).containsExactly(
                "Security Update 2019-001 (10.13.6)", "Safari (12.0.3)",
                "macOS High Sierra 10.13.6 Supplemental Update (10.13.6)", "iTunes (12.8.2)");
        assertThat(SoftwareUpdateListParser.securityPending(0, out, "", "10.13")).isEqualTo(2);
    }

    @Test
    void rapidSecurityResponse_counts() {
        String out = "Software Update found the following new or updated software:\n"
                + "* Label: macOS Security Response 13.4.1 (c)-22F770820d\n"
                + "\tTitle: macOS Ventura 13.4.1 (c), Version: 13.4.1 (c), Size: 90112KiB, Recommended: YES, Action: restart,\n";

        assertThat(SoftwareUpdateListParser.securityPending(0, out, "", "13")).isEqualTo(1);
    }

    @Test
    void errorWithoutList_isRejectedWithExitCode() {
        assertThatThrownBy(() -> SoftwareUpdateListParser.securityPending(1, "Software Update Tool\n\nFinding available software\n",
                "Can't connect to the Apple Software Update server.\n", "14"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("softwareupdate --list: expected a list of updates or \"No new software available.\", found "
                        + "\"Software Update Tool Finding available software Can't connect to the Apple Software Update server.\" (exit 1)");
    }
}
