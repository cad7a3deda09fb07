package org.postern.agent.collect.macos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SwVersParserTest {

    @Test
    void macos14_twoTabs() {
        SwVersParser.SwVers v = SwVersParser.parse(MacFixtures.read("sw_vers-14.txt"));

        assertThat(v).isEqualTo(new SwVersParser.SwVers("macOS", "14.4.1", "23E224"));
        assertThat(v.major()).isEqualTo("14");
    }

    @Test
    void macos13WithRapidSecurityResponse_extraLineIgnored_buildShowsIt() {
        SwVersParser.SwVers v = SwVersParser.parse(MacFixtures.read("sw_vers-13-rsr.txt"));

        assertThat(v).isEqualTo(new SwVersParser.SwVers("macOS", "13.4.1", "22F770820d"));
    }

    @Test
    void macOsX10_oneTab_majorIsTwoNumbers() {
        SwVersParser.SwVers v = SwVersParser.parse(MacFixtures.read("sw_vers-10.15.txt"));

        assertThat(v).isEqualTo(new SwVersParser.SwVers("Mac OS X", "10.15.7", "19H2026"));
        assertThat(v.major()).isEqualTo("10.15");
    }

    @Test
    void spacesInsteadOfTabs_parseTheSame() {
        assertThat(SwVersParser.parse("ProductName:    macOS\nProductVersion: 14.4.1\nBuildVersion:   23E224\n"))
                .isEqualTo(new SwVersParser.SwVers("macOS", "14.4.1", "23E224"));
    }

    @Test
    void missingVersion_isRejected() {
        assertThatThrownBy(() -> SwVersParser.parse("ProductName:\tmacOS\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sw_vers: expected ProductVersion like 14.4.1 and BuildVersion like 23E224, found \"ProductName: macOS\"");
    }
}
