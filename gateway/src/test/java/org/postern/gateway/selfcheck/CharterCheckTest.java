package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.postern.config.gateway.Charter;

class CharterCheckTest {

    @Test
    void noCharter_isWarning_withTheSettingToAdd() {
        Finding w = Findings.only(new CharterCheck(null).run(), Severity.WARNING);
        assertThat(w.check()).isEqualTo("charter");
        assertThat(w.message()).startsWith("no remote-work charter (charter:)");
        assertThat(w.fix()).contains("charter.version: 1").contains("postern-agent charter");
    }

    @Test
    void charter_isInfo_namingItsVersionAndHash() {
        Charter c = new Charter(3, "I lock my laptop.\n");
        Finding i = Findings.only(new CharterCheck(c).run(), Severity.INFO);
        assertThat(i.message()).startsWith("charter version 3 in force (sha256 " + c.sha256().substring(0, 16) + "…, inline)");
    }
}
