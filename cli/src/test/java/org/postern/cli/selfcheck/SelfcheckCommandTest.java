package org.postern.cli.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.postern.cli.Exit;
import org.postern.gateway.selfcheck.Severity;

/** The exit code of {@code postern selfcheck} by the worst finding (docs/selfcheck.md). */
class SelfcheckCommandTest {
    @Test
    void exitCodes_byWorstSeverity() {
        assertThat(SelfcheckCommand.exitCode(Severity.INFO)).isZero();
        assertThat(SelfcheckCommand.exitCode(Severity.WARNING)).isEqualTo(1);
        assertThat(SelfcheckCommand.exitCode(Severity.CRITICAL)).isEqualTo(Exit.CRITICAL).isEqualTo(8);
    }
}
