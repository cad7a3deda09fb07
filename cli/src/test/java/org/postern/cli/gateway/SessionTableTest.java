package org.postern.cli.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.postern.cli.TerminalAssertions;

/** {@code postern gateway sessions}: peer and certificate text in the table is shown as escapes (issue 11, item 9). */
class SessionTableTest {
    @Test
    void print_controlAndBidiInDeviceUserOrSource_areEscaped() throws Exception {
        var sessions = new ObjectMapper().createArrayNode();
        sessions.addObject().put("id", "5b0e").put("device", "laptop\u001b]0;pwned\u0007").put("user", "ali\u202ece")
                .put("source", "203.0.113.7:51234\r\n5b0f  fake").put("since", "2026-11-30T06:02:11Z").put("flows", 1)
                .put("bytesUp", 10).put("bytesDown", 2048).put("leaseUntil", "2026-11-30T06:12:10Z");
        StringWriter out = new StringWriter();
        SessionTable.print(new PrintWriter(out, true), sessions);
        TerminalAssertions.assertSafe(out.toString());
        assertThat(out.toString()).contains("laptop\\x1b]0;pwned\\x07").contains("ali\\u202ece").contains("203.0.113.7:51234\\r\\n5b0f  fake")
                .contains("10B/2.0KiB");
        assertThat(out.toString().lines()).hasSize(2);
    }
}
