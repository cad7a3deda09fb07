package org.postern.config.gateway;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postern.config.InvalidValueException;

/**
 * One entry of an access rule's {@code to:} list: where, and on which ports. Written
 * {@code HOST:PORT} or {@code HOST:LOW-HIGH}, where HOST is a host name ({@code db1.admin.internal}),
 * an IP address ({@code 10.30.0.5}) or a CIDR network ({@code 10.20.0.0/16}); IPv6 in brackets
 * ({@code [2001:db8::/32]:443}, {@code [2001:db8::5]:22}).
 *
 * @param target    the host name or network
 * @param lowPort   the first port allowed, 1 to 65535
 * @param highPort  the last port allowed, {@code lowPort} to 65535 (equal for a single port)
 */
public record Destination(Target target, int lowPort, int highPort) {

    /** What a valid entry looks like, for problems. */
    public static final String EXPECTED = "HOST:PORT, CIDR:PORT or HOST:LOW-HIGH";

    private static final Pattern PORTS = Pattern.compile("(\\d{1,5})(?:-(\\d{1,5}))?");
    private static final Pattern HOST_NAME =
            Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");
    private static final Pattern NUMERIC_LABEL = Pattern.compile(".*(^|\\.)\\d+$");

    /** Where an entry points: a host name, or a network (a single address is a network of one). */
    public sealed interface Target permits HostName, Net {
    }

    /**
     * A host name, kept in lower case without a trailing dot. It matches a request for the same
     * name; the address it resolves to is still checked (a name never lifts the refusal of
     * loopback, link-local or the gateway's own addresses).
     */
    public record HostName(String name) implements Target {
        public HostName {
            Objects.requireNonNull(name, "name");
            name = canonicalName(name);
            if (!isHostName(name)) {
                throw new IllegalArgumentException("expected a host name like db1.admin.internal, found \"" + name + "\"");
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** An IP address or CIDR network; matches the resolved address of a request. */
    public record Net(Network network) implements Target {
        public Net {
            Objects.requireNonNull(network, "network");
        }

        @Override
        public String toString() {
            return network.toString();
        }
    }

    public Destination {
        Objects.requireNonNull(target, "target");
        if (lowPort < 1 || highPort > 65535 || lowPort > highPort) {
            throw new IllegalArgumentException("expected ports between 1 and 65535 with LOW <= HIGH, found "
                    + lowPort + "-" + highPort);
        }
    }

    /**
     * Parses one {@code to:} entry.
     *
     * @throws InvalidValueException naming what was expected, e.g.
     *         {@code expected HOST:PORT, CIDR:PORT or HOST:LOW-HIGH, found "10.0.0.0/33:22"}
     */
    public static Destination parse(String text) {
        Objects.requireNonNull(text, "text");
        String host;
        String ports;
        if (text.startsWith("[")) {
            int close = text.indexOf("]:");
            if (close < 0) {
                throw new InvalidValueException(EXPECTED, text);
            }
            host = text.substring(1, close);
            ports = text.substring(close + 2);
            if (!host.contains(":")) {
                throw new InvalidValueException(EXPECTED, text); // brackets are for IPv6 only
            }
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw new InvalidValueException(EXPECTED, text);
            }
            host = text.substring(0, colon);
            ports = text.substring(colon + 1);
            if (host.contains(":")) {
                // "2001:db8::1:22" is ambiguous: which part is the port?
                throw new InvalidValueException(EXPECTED + " (IPv6 in brackets: [2001:db8::/32]:443)", text);
            }
        }
        Matcher m = PORTS.matcher(ports);
        if (!m.matches()) {
            throw new InvalidValueException(EXPECTED, text);
        }
        int low = Integer.parseInt(m.group(1));
        int high = m.group(2) == null ? low : Integer.parseInt(m.group(2));
        if (low < 1 || high > 65535 || low > high) {
            throw new InvalidValueException("ports between 1 and 65535, a range written LOW-HIGH with LOW <= HIGH",
                    text);
        }
        return new Destination(target(host, text), low, high);
    }

    /** Whether {@code port} is one of this entry's ports. */
    public boolean allowsPort(int port) {
        return port >= lowPort && port <= highPort;
    }

    /** As written in a file, normalized: {@code 10.20.0.0/16:22}, {@code [2001:db8::/32]:443}, {@code db1:8000-8100}. */
    @Override
    public String toString() {
        String host = target.toString();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return host + ":" + (lowPort == highPort ? String.valueOf(lowPort) : lowPort + "-" + highPort);
    }

    /**
     * A host as a request names it: lower case, without a trailing dot, without IPv6 brackets.
     * Host names are case-insensitive (RFC 4343).
     */
    public static String canonicalName(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h.endsWith(".") && h.length() > 1 ? h.substring(0, h.length() - 1) : h;
    }

    /**
     * Whether {@code name} is a syntactically valid DNS host name. A name whose last label is all
     * digits is refused: no top-level domain is numeric, so {@code 10.0.0} or {@code 999.1.1.1}
     * is a mistyped address, not a name.
     */
    public static boolean isHostName(String name) {
        return name.length() <= 253 && HOST_NAME.matcher(name).matches() && !NUMERIC_LABEL.matcher(name).matches();
    }

    private static Target target(String host, String text) {
        boolean ipLike = host.contains("/") || host.contains(":") || NUMERIC_LABEL.matcher(host).matches();
        if (ipLike) {
            try {
                return new Net(Network.parse(host));
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().contains("host bits")) {
                    throw new InvalidValueException("a network address with no host bits set, like 10.20.0.0/16", text);
                }
                throw new InvalidValueException(EXPECTED, text);
            }
        }
        String name = canonicalName(host);
        if (!isHostName(name)) {
            throw new InvalidValueException(EXPECTED, text);
        }
        return new HostName(name);
    }
}
