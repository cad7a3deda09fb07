package org.postern.audit.export;

import java.util.LinkedHashMap;
import java.util.Map;

import org.postern.audit.query.AuditRecord;
import org.postern.audit.query.Endpoint;
import org.postern.audit.query.Outcome;
import org.postern.audit.text.TerminalText;

/**
 * ArcSight Common Event Format, one event per line:
 * {@code CEF:0|Postern|Postern Gateway|0.1.0|<type>|<name>|<severity>|<extension>}. Header fields
 * escape {@code \} and {@code |}; extension values escape {@code \}, {@code =} and CR/LF
 * ({@code \r}, {@code \n}). Other control, format and bidi characters a peer sent are shown as
 * {@link TerminalText} escapes ({@code \x1b}, <code>&#92;u202e</code>; their backslash escaped as CEF
 * requires). The mapping to keys is in docs/audit.md.
 */
public final class CefFormat {
    static final String PREFIX = "CEF:0|Postern|Postern Gateway|0.1.0|";

    private CefFormat() {}

    static String line(AuditRecord r) {
        String type = r.type();
        Outcome outcome = Outcome.of(r);
        StringBuilder b = new StringBuilder(PREFIX);
        b.append(header(type)).append('|').append(header(name(type))).append('|').append(severity(r, outcome)).append('|');
        boolean first = true;
        for (Map.Entry<String, String> e : extension(r, outcome).entrySet()) {
            if (!first) {
                b.append(' ');
            }
            first = false;
            b.append(e.getKey()).append('=').append(value(e.getValue()));
        }
        return b.toString();
    }

    static Map<String, String> extension(AuditRecord r, Outcome outcome) {
        Map<String, String> x = new LinkedHashMap<>();
        x.put("rt", Long.toString(r.time().toEpochMilli()));
        put(x, "externalId", r.text("seq"));
        put(x, "dvchost", r.text("gateway"));
        String source = r.text("source");
        if (source != null) {
            Endpoint s = Endpoint.parse(source);
            put(x, s.isAddress() ? "src" : "shost", s.host());
            if (s.port() >= 0) {
                x.put("spt", Integer.toString(s.port()));
            }
        }
        if (r.text("dest") != null) {
            Endpoint asked = Endpoint.parse(r.text("dest"));
            x.put("dhost", asked.host());
            if (asked.port() >= 0) {
                x.put("dpt", Integer.toString(asked.port()));
            }
        }
        if (r.text("destAddress") != null) {
            Endpoint connected = Endpoint.parse(r.text("destAddress"));
            x.put(connected.isAddress() ? "dst" : "dhost", connected.host());
            if (connected.port() >= 0) {
                x.put("dpt", Integer.toString(connected.port()));
            }
        }
        put(x, "suser", r.text("user"));
        x.put("outcome", outcome == Outcome.DENIED ? "failure" : "success");
        put(x, "reason", r.text("reason") != null ? r.text("reason") : r.text("reasons"));
        put(x, "msg", r.text("detail"));
        if (r.number("bytesUp") >= 0) {
            x.put("in", Long.toString(r.number("bytesUp")));
        }
        if (r.number("bytesDown") >= 0) {
            x.put("out", Long.toString(r.number("bytesDown")));
        }
        custom(x, "cs1", "device", r.text("device"));
        custom(x, "cs2", "session", r.text("session"));
        custom(x, "cs3", "certSha256", r.text("certSha256"));
        custom(x, "cs4", "certSerial", r.text("certSerial"));
        custom(x, "cs5", "via", r.text("via"));
        custom(x, "cs6", "flow", r.text("flow"));
        if (r.number("durationMs") >= 0) {
            custom(x, "cn1", "durationMs", Long.toString(r.number("durationMs")));
        }
        return x;
    }

    private static void put(Map<String, String> x, String key, String value) {
        if (value != null && !value.isEmpty()) {
            x.put(key, value);
        }
    }

    private static void custom(Map<String, String> x, String key, String label, String value) {
        if (value != null && !value.isEmpty()) {
            x.put(key, value);
            x.put(key + "Label", label);
        }
    }

    /** 0–10: 1 routine, 3 a change to the PKI or configuration, 5 access refused or withdrawn, 7 damage to the trail. */
    static int severity(AuditRecord r, Outcome outcome) {
        String type = r.type();
        if (type.equals("audit.torn_tail")) {
            return 7;
        }
        if (outcome == Outcome.DENIED || type.equals("pki.revoke")) {
            return 5;
        }
        return type.startsWith("pki.") || type.startsWith("admin.") ? 3 : 1;
    }

    /** A readable event name: the type with its dots as spaces ({@code access.denied} → {@code access denied}). */
    static String name(String type) {
        return type.replace('.', ' ').replace('_', ' ');
    }

    /** A header field: {@code \\} and {@code |} escaped, line breaks as spaces, other hidden characters as visible escapes. */
    public static String header(String v) {
        return TerminalText.escapeKeepingLineBreaks(v).replace("\\", "\\\\").replace("|", "\\|").replace('\r', ' ').replace('\n', ' ');
    }

    /** An extension value: {@code \\}, {@code =} and CR/LF escaped, other hidden characters as visible escapes. */
    public static String value(String v) {
        return TerminalText.escapeKeepingLineBreaks(v).replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r");
    }
}
