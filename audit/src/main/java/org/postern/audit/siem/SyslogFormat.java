package org.postern.audit.siem;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One trail record as an RFC 5424 syslog message in RFC 5425 octet-counting framing
 * ({@code MSG-LEN SP SYSLOG-MSG}):
 * <pre>
 * &lt;PRI&gt;1 TIME GATEWAY APP-NAME - TYPE [postern@32473 seq="…" gateway="…" session="…" device="…" user="…"] BOM{record}
 * </pre>
 * The record's own line is the MSG, byte for byte, so a SIEM can check its hash chain. The gateway id
 * is in HOSTNAME, cut to printable ASCII as RFC 5424 requires, and exactly, in UTF-8, as the
 * {@code gateway} parameter: a SIEM that receives several gateways' trails tells them apart by it.
 */
final class SyslogFormat {
    /** The SD-ID: name@private-enterprise-number; 32473 is the number RFC 5612 reserves for documentation. */
    static final String SD_ID = "postern@32473";
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
    private static final String[] SD_PARAMS = {"seq", "gateway", "session", "device", "user"};

    private final String appName;
    private final int facility;

    SyslogFormat(String appName, int facility) {
        this.appName = appName;
        this.facility = facility;
    }

    /** The framed message: {@code MSG-LEN SP SYSLOG-MSG}. */
    byte[] frame(JsonNode record, byte[] line, int off, int len) {
        byte[] msg = message(record, line, off, len);
        byte[] prefix = (msg.length + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[prefix.length + msg.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(msg, 0, out, prefix.length, msg.length);
        return out;
    }

    /** The SYSLOG-MSG of RFC 5424 section 6. */
    byte[] message(JsonNode record, byte[] line, int off, int len) {
        String type = record.path("type").asText("-");
        StringBuilder head = new StringBuilder(160)
                .append('<').append(facility * 8 + severity(record)).append(">1 ")
                .append(token(record.path("time").asText(""), 64))
                .append(' ').append(token(record.path("gateway").asText(""), 255))
                .append(' ').append(appName)
                .append(" - ")
                .append(token(type, 32))
                .append(" [").append(SD_ID);
        for (String name : SD_PARAMS) {
            JsonNode v = record.get(name);
            if (v != null && !v.isNull() && !v.isContainerNode()) {
                head.append(' ').append(name).append("=\"").append(escape(v.asText())).append('"');
            }
        }
        head.append("] ");
        ByteArrayOutputStream out = new ByteArrayOutputStream(head.length() + len + 8);
        out.writeBytes(head.toString().getBytes(StandardCharsets.UTF_8));
        out.writeBytes(BOM);
        out.write(line, off, len);
        return out.toByteArray();
    }

    /**
     * Severity (RFC 5424 table 2): 3 error for a torn tail, 4 warning for a refusal, 5 notice for
     * PKI and admin actions, 6 informational for the rest.
     */
    static int severity(JsonNode record) {
        String type = record.path("type").asText("");
        if (type.equals("audit.torn_tail")) {
            return 3;
        }
        if (type.equals("access.denied") || type.endsWith(".denied") || type.endsWith(".rejected")
                || (type.equals("posture.decision") && "non_compliant".equals(record.path("result").asText()))) {
            return 4;
        }
        if (type.startsWith("pki.") || type.startsWith("admin.")) {
            return 5;
        }
        return 6;
    }

    /**
     * PARAM-VALUE escaping (RFC 5424 section 6.3.3): {@code "}, {@code \} and {@code ]} get a backslash.
     */
    static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length() + 4);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\' || c == ']') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /**
     * A header field: printable US-ASCII without spaces, at most {@code max} characters; anything
     * else becomes {@code _}, an empty value the NILVALUE {@code -}.
     */
    static String token(String value, int max) {
        if (value.isEmpty()) {
            return "-";
        }
        StringBuilder b = new StringBuilder(Math.min(value.length(), max));
        for (int i = 0; i < value.length() && b.length() < max; i++) {
            char c = value.charAt(i);
            b.append(c >= 33 && c <= 126 ? c : '_');
        }
        return b.toString();
    }
}
