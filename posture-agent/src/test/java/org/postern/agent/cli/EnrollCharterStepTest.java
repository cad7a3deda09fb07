package org.postern.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

/** The charter step of {@code postern-agent enroll}: its failure never turns a done enrollment into an error. */
class EnrollCharterStepTest {

    private static String run(EnrollCommand.CharterStep step) throws InterruptedException {
        StringWriter s = new StringWriter();
        try (PrintWriter out = new PrintWriter(s)) {
            EnrollCommand.charterStep(step, out, " --home /tmp/h");
        }
        return s.toString();
    }

    @Test
    void anUnexpectedRuntimeException_saysEnrollmentDone_andTheCharterStepFailed() throws InterruptedException {
        String out = run(() -> {
            throw new java.time.format.DateTimeParseException("Text 'soon' could not be parsed", "soon", 0);
        });
        assertThat(out).startsWith("Enrollment done; the remote-work charter step failed (java.time.format.DateTimeParseException:"
                        + " Text 'soon' could not be parsed).")
                .contains("run postern-agent --home /tmp/h charter   before connecting");
    }

    @Test
    void anIoException_isReportedTheSameWay() throws InterruptedException {
        String out = run(() -> {
            throw new IOException("GET https://gw/v1/charter: expected 200, found HTTP 503");
        });
        assertThat(out).startsWith("Enrollment done; the remote-work charter step failed (GET https://gw/v1/charter: expected 200, found HTTP 503).");
    }

    @Test
    void success_printsNothingMore() throws InterruptedException {
        assertThat(run(() -> { })).isEmpty();
    }
}
