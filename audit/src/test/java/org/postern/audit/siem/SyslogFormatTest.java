package org.postern.audit.siem;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class SyslogFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SyslogFormat format = new SyslogFormat("postern", 10);

    @Test
    void frame_isOctetCountedRfc5424WithTheRecordAsMsg() throws Exception {
        String line = "{\"seq\":7,\"time\":\"2026-11-30T03:26:58.120Z\",\"type\":\"flow.close\",\"gateway\":\"gw-paris-1\","
                + "\"session\":\"s-1\",\"device\":\"laptop-0042\",\"user\":\"alice\",\"dest\":\"db:5432\",\"prev\":\"ab\"}";
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        byte[] frame = format.frame(JSON.readTree(bytes), bytes, 0, bytes.length);
        String text = new String(frame, StandardCharsets.UTF_8);
        int sp = text.indexOf(' ');
        int len = Integer.parseInt(text.substring(0, sp));
        assertThat(len).as("MSG-LEN counts the octets after the space").isEqualTo(frame.length - sp - 1);
        assertThat(text.substring(sp + 1)).isEqualTo("<86>1 2026-11-30T03:26:58.120Z gw-paris-1 postern - flow.close "
                + "[postern@32473 seq=\"7\" gateway=\"gw-paris-1\" session=\"s-1\" device=\"laptop-0042\" user=\"alice\"] \uFEFF" + line);
    }

    /** Issue 14: a SIEM fed by several gateways tells them apart, also by an id HOSTNAME cannot carry. */
    @Test
    void gatewayId_isTheHostnameAndExactlyInTheStructuredData() throws Exception {
        String line = "{\"seq\":3,\"time\":\"2026-11-30T03:26:58.120Z\",\"type\":\"audit.checkpoint\",\"gateway\":\"gw z\u00fcrich]2\","
                + "\"records\":2,\"prev\":\"ab\"}";
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        String msg = new String(format.message(JSON.readTree(bytes), bytes, 0, bytes.length), StandardCharsets.UTF_8);
        assertThat(msg).startsWith("<86>1 2026-11-30T03:26:58.120Z gw_z_rich]2 postern - audit.checkpoint "
                + "[postern@32473 seq=\"3\" gateway=\"gw z\u00fcrich\\]2\"] \uFEFF");
    }

    @Test
    void structuredData_escapesQuoteBackslashAndBracket() throws Exception {
        JsonNode r = JSON.readTree("{\"seq\":1,\"time\":\"2026-11-30T03:26:58.120Z\",\"type\":\"access.denied\",\"gateway\":\"gw\","
                + "\"user\":\"a\\\"b\\\\c]d\"}");
        String msg = new String(format.message(r, new byte[0], 0, 0), StandardCharsets.UTF_8);
        assertThat(msg).startsWith("<84>1 ").contains("user=\"a\\\"b\\\\c\\]d\"]");
    }

    @Test
    void severity_followsTheOutcome() throws Exception {
        assertThat(SyslogFormat.severity(JSON.readTree("{\"type\":\"audit.torn_tail\"}"))).isEqualTo(3);
        assertThat(SyslogFormat.severity(JSON.readTree("{\"type\":\"pki.enroll.denied\"}"))).isEqualTo(4);
        assertThat(SyslogFormat.severity(JSON.readTree("{\"type\":\"posture.decision\",\"result\":\"non_compliant\"}"))).isEqualTo(4);
        assertThat(SyslogFormat.severity(JSON.readTree("{\"type\":\"pki.revoke\"}"))).isEqualTo(5);
        assertThat(SyslogFormat.severity(JSON.readTree("{\"type\":\"session.start\"}"))).isEqualTo(6);
    }

    @Test
    void token_replacesSpacesAndCutsToTheFieldLimit() {
        assertThat(SyslogFormat.token("a b\u00e9", 32)).isEqualTo("a_b_");
        assertThat(SyslogFormat.token("x".repeat(40), 32)).hasSize(32);
        assertThat(SyslogFormat.token("", 32)).isEqualTo("-");
    }
}
