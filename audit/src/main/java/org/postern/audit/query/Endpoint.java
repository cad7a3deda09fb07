package org.postern.audit.query;

/**
 * A {@code host:port} value of the trail ({@code source}, {@code dest}, {@code destAddress}):
 * {@code 10.0.0.5:22}, {@code [2001:db8::1]:22}, {@code db1.example:5432}, or a host alone.
 *
 * @param host the host or address, without brackets
 * @param port the port, or -1 when none was given
 */
public record Endpoint(String host, int port) {

    public static Endpoint parse(String value) {
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close > 0) {
                String host = value.substring(1, close);
                String rest = value.substring(close + 1);
                return new Endpoint(host, rest.startsWith(":") ? port(rest.substring(1)) : -1);
            }
        }
        int colon = value.lastIndexOf(':');
        if (colon > 0 && value.indexOf(':') == colon) {
            int port = port(value.substring(colon + 1));
            if (port >= 0) {
                return new Endpoint(value.substring(0, colon), port);
            }
        }
        return new Endpoint(value, -1);
    }

    private static int port(String s) {
        try {
            int p = Integer.parseInt(s);
            return p >= 0 && p <= 65535 ? p : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Whether the host is an IPv4 or IPv6 literal (CEF's src/dst and OCSF's ip take only addresses). */
    public boolean isAddress() {
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (host.contains(":") && host.matches("[0-9A-Fa-f:.]+"));
    }
}
