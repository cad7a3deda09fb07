package org.postern.cli.gateway;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.postern.audit.text.TerminalText;

/**
 * The live sessions as an aligned table, the way {@code postern gateway sessions} prints them; every
 * cell through {@link TerminalText#escape} (device, user and source come from certificates and peers).
 * ADDRESS is a VPN session's device address and transport, blank for CONNECT and SSH sessions.
 */
final class SessionTable {
    static final List<String> HEADER = List.of("SESSION", "DEVICE", "USER", "SOURCE", "ADDRESS", "SINCE", "FLOWS",
            "BYTES UP/DOWN", "LEASE END");

    private SessionTable() {
    }

    static void print(PrintWriter out, JsonNode sessions) {
        if (sessions.isEmpty()) {
            out.println("No live sessions.");
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(HEADER);
        for (JsonNode s : sessions) {
            rows.add(List.of(s.path("id").asText(), s.path("device").asText(), s.path("user").asText("-"),
                    s.path("source").asText(), address(s), s.path("since").asText(), s.path("flows").asText("0"),
                    size(s.path("bytesUp").asLong()) + "/" + size(s.path("bytesDown").asLong()),
                    s.path("leaseUntil").isNull() || s.path("leaseUntil").isMissingNode() ? "-" : s.path("leaseUntil").asText())
                    .stream().map(TerminalText::escape).toList());
        }
        int[] width = new int[HEADER.size()];
        for (List<String> r : rows) {
            for (int i = 0; i < r.size(); i++) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        for (List<String> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                line.append(i == r.size() - 1 ? r.get(i) : String.format("%-" + width[i] + "s  ", r.get(i)));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** A VPN session's device address and transport ({@code 100.64.0.7 (h3)}); blank for CONNECT and SSH sessions. */
    private static String address(JsonNode s) {
        JsonNode a = s.path("address");
        if (a.isNull() || a.isMissingNode()) {
            return "";
        }
        JsonNode t = s.path("transport");
        return t.isNull() || t.isMissingNode() ? a.asText() : a.asText() + " (" + t.asText() + ")";
    }

    /** Bytes in B, KiB, MiB or GiB with one decimal. */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + "B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f%s", v, units[u]);
    }
}
