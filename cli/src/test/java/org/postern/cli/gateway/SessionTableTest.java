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

    @Test
    void print_vpnSession_showsItsAddressAndTransport_othersBlank() {
        var sessions = new ObjectMapper().createArrayNode();
        sessions.addObject().put("id", "s-1").put("device", "laptop-1").put("user", "alice").put("source", "192.0.2.10:50000")
                .put("via", "tls").put("since", "2026-11-30T06:00:00Z").put("flows", 2).put("bytesUp", 1234)
                .put("bytesDown", 5_767_168).put("leaseUntil", "2026-11-30T06:10:00Z").putNull("address").putNull("transport");
        sessions.addObject().put("id", "s-2").put("device", "laptop-2").put("user", "bob").put("source", "192.0.2.11:50001")
                .put("via", "vpn").put("since", "2026-11-30T06:01:00Z").put("flows", 7).put("bytesUp", 10)
                .put("bytesDown", 20).put("leaseUntil", "2026-11-30T06:11:00Z").put("address", "100.64.0.7 fd00:7057::7")
                .put("transport", "h3");
        StringWriter out = new StringWriter();
        SessionTable.print(new PrintWriter(out, true), sessions);
        assertThat(out.toString().lines()).containsExactly(
                "SESSION  DEVICE    USER   SOURCE            ADDRESS                       SINCE                 FLOWS  BYTES UP/DOWN  LEASE END",
                "s-1      laptop-1  alice  192.0.2.10:50000                                2026-11-30T06:00:00Z  2      1.2KiB/5.5MiB  2026-11-30T06:10:00Z",
                "s-2      laptop-2  bob    192.0.2.11:50001  100.64.0.7 fd00:7057::7 (h3)  2026-11-30T06:01:00Z  7      10B/20B        2026-11-30T06:11:00Z");
    }
}
