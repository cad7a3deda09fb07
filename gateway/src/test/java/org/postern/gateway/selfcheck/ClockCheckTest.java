package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class ClockCheckTest {

    /** Canned answers: the output of each command that "ran", the processes that "run". */
    private record Canned(Map<List<String>, String> outputs, Set<String> processes) implements ClockCheck.Probe {
        @Override
        public @Nullable String output(List<String> command) {
            return outputs.get(command);
        }

        @Override
        public boolean running(String name) {
            return processes.contains(name);
        }
    }

    private static List<Finding> run(Map<List<String>, String> outputs, Set<String> processes) {
        return new ClockCheck(new Canned(outputs, processes)).run();
    }

    @Test
    void timedatectlYes_isInfo() {
        List<Finding> f = run(Map.of(ClockCheck.TIMEDATECTL, "yes\n"), Set.of());
        assertThat(f).singleElement().extracting(Finding::message)
                .isEqualTo("the system clock is synchronised (timedatectl NTPSynchronized=yes)");
    }

    @Test
    void timedatectlNo_isWarning() {
        Finding w = Findings.only(run(Map.of(ClockCheck.TIMEDATECTL, "no\n"), Set.of("chronyd")), Severity.WARNING);
        assertThat(w.message()).startsWith("the system clock is not synchronised (timedatectl NTPSynchronized=no)");
        assertThat(w.fix()).contains("timedatectl set-ntp true");
    }

    @Test
    void noTimedatectl_chronyNotSynchronised_isWarning() {
        String tracking = "Reference ID    : 00000000 ()\nStratum         : 0\nLeap status     : Not synchronised\n";
        Finding w = Findings.only(run(Map.of(ClockCheck.CHRONYC, tracking), Set.of()), Severity.WARNING);
        assertThat(w.message()).isEqualTo("the system clock is not synchronised (chronyc tracking: Leap status Not synchronised)");
    }

    @Test
    void noTimedatectl_chronyNormal_isInfo() {
        String tracking = "Reference ID    : C0A80001 (192.168.0.1)\nLeap status     : Normal\n";
        assertThat(run(Map.of(ClockCheck.CHRONYC, tracking), Set.of())).singleElement().extracting(Finding::severity)
                .isEqualTo(Severity.INFO);
    }

    @Test
    void onlyADaemon_isInfo() {
        assertThat(run(Map.of(), Set.of("systemd-timesyncd"))).singleElement().extracting(Finding::message)
                .isEqualTo("systemd-timesyncd is running (its synchronisation state was not read)");
    }

    @Test
    void nothing_isWarning_namingWhatWasTried() {
        Finding w = Findings.only(run(Map.of(), Set.of()), Severity.WARNING);
        assertThat(w.message()).isEqualTo("clock synchronisation unknown: tried timedatectl show -p NTPSynchronized --value"
                + " (did not run), chronyc -n tracking (did not run), and found none of chronyd, ntpd, systemd-timesyncd,"
                + " openntpd running");
    }

    @Test
    void hostProbe_missingCommand_isNull_andFindsItsOwnProcess() {
        ClockCheck.Probe host = ClockCheck.hostProbe();
        assertThat(host.output(List.of("postern-no-such-command-here"))).isNull();
        assertThat(host.output(List.of("sh", "-c", "echo yes"))).isEqualTo("yes\n");
        assertThat(host.output(List.of("sh", "-c", "exit 3"))).isNull();
        assertThat(host.running("java")).isTrue(); // this JVM
        assertThat(host.running("postern-no-such-process")).isFalse();
    }
}
