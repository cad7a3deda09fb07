package org.postern.config;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A host and a TCP port, written {@code 127.0.0.1:8443}, {@code localhost:8443} or, for IPv6,
 * in brackets: {@code [::1]:8443}. The host is kept without brackets. An empty host (":8443")
 * is rejected: a listener binds where it is told, never on every interface by omission.
 */
public record HostPort(String host, int port) {

    static final String EXPECTED = "host:port like 127.0.0.1:8443 or [::1]:8443";
    static final String EXPECTED_PORT = "a port between 1 and 65535";

    private static final Pattern HOST_NAME =
            Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
    private static final Pattern PORT = Pattern.compile("\\d{1,5}");

    public HostPort {
        Objects.requireNonNull(host, "host");
        if (!validHost(host)) {
            throw new IllegalArgumentException("expected a host name or IP address, found " + Found.quote(host));
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("expected " + EXPECTED_PORT + ", found " + port);
        }
    }

    /**
     * Parses {@code text}.
     *
     * @throws InvalidValueException {@code expected host:port like 127.0.0.1:8443 or [::1]:8443, found "::1:8443"}
     *                               or {@code expected a port between 1 and 65535, found "localhost:0"}
     */
    public static HostPort parse(String text) {
        Objects.requireNonNull(text, "text");
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf("]:");
            if (close < 0) {
                throw new InvalidValueException(EXPECTED, text);
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
            if (!IPV6.matcher(host).matches() || !validHost(host)) {
                throw new InvalidValueException(EXPECTED, text);
            }
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw new InvalidValueException(EXPECTED, text);
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            // An unbracketed IPv6 address is ambiguous: is "::1:8443" the host ::1 port 8443?
            if (!validHost(host) || host.contains(":")) {
                throw new InvalidValueException(EXPECTED, text);
            }
        }
        if (!PORT.matcher(port).matches()) {
            throw new InvalidValueException(EXPECTED, text);
        }
        int number = Integer.parseInt(port);
        if (number < 1 || number > 65535) {
            throw new InvalidValueException(EXPECTED_PORT, text);
        }
        return new HostPort(host, number);
    }

    /** An address to bind or connect to; resolves the host name now. */
    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }

    private static boolean validHost(String host) {
        if (IPV6.matcher(host).matches()) {
            try {
                Inet6Address.ofLiteral(host); // parses the literal only, never asks DNS
                return true;
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        if (!HOST_NAME.matcher(host).matches()) {
            return false;
        }
        // Four numeric labels is an IPv4 address; catch 999.0.0.1 here rather than at bind time.
        String[] labels = host.split("\\.");
        if (labels.length == 4 && host.chars().allMatch(c -> c == '.' || Character.isDigit(c))) {
            for (String label : labels) {
                if (label.length() > 3 || Integer.parseInt(label) > 255) {
                    return false;
                }
            }
        }
        return true;
    }
}
