package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.ProcessCommandRunner;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PostureClaims;

/** The collector on this machine, for real: root {@code /}, real processes. */
class LinuxCollectorSystemTest {

    @Test
    void system_onThisMachine_givesFactsOrPreciseErrorsNeverAnException() throws Exception {
        assumeTrue(System.getProperty("os.name").equals("Linux"), "Linux only");
        CommandRunner.Result uname = new ProcessCommandRunner().run(List.of("uname", "-r"), Duration.ofSeconds(5));

        PostureClaims.Facts f = LinuxCollector.system().collect();
        System.out.println("LinuxCollector on this machine: " + f);

        assertThat(f.collector()).isEqualTo(PostureClaims.NATIVE);
        assertThat(f.os().family()).isEqualTo(OsFacts.LINUX);
        assertThat(f.os().kernel()).isEqualTo(uname.stdout().strip());
        if (f.disk().encrypted() == null) {
            assertThat(f.errors()).filteredOn(e -> e.check().equals("disk")).isNotEmpty()
                    .allSatisfy(e -> assertThat(e.why()).isNotBlank());
        } else {
            assertThat(f.disk().volume()).startsWith("/ on /dev/");
            assertThat(f.errors()).extracting(CheckError::check).doesNotContain("disk");
        }
        assertThat(f.errors()).allSatisfy(e -> assertThat(e.why()).doesNotContain("internal error"));
    }
}
