package org.postern.config.gateway;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.postern.config.ConfigReader;
import org.postern.config.Durations;

/**
 * {@code proxyProtocol}: which load balancers may tell the gateway a client's real address with a
 * PROXY protocol v2 header (HAProxy {@code send-proxy-v2}), per listener. A connection from a
 * trusted proxy must start with such a header; anyone else who sends one is refused, so a laptop
 * cannot claim another address. A listener without trusted proxies takes no header at all (off).
 * A network of every address ({@code /0}) would let anyone claim any address: it is refused unless
 * {@code unsafeTrustAnySource: true} says so.
 *
 * @param tunnel              {@code proxyProtocol.tunnel}: the TLS tunnel listener ({@code listeners.tunnel})
 * @param ssh                 {@code proxyProtocol.ssh}: the SSH bastion ({@code listeners.ssh})
 * @param headerTime          {@code proxyProtocol.headerTime}: time a trusted proxy has to send its header
 * @param unsafeTrustAnySource {@code proxyProtocol.unsafeTrustAnySource}: allow a {@code /0} in trustedProxies
 */
public record ProxyProtocol(Listener tunnel, Listener ssh, Duration headerTime, boolean unsafeTrustAnySource) {

    public static final Duration DEFAULT_HEADER_TIME = Duration.ofSeconds(5);
    static final Duration MIN_HEADER_TIME = Duration.ofMillis(100);
    static final Duration MAX_HEADER_TIME = Duration.ofMinutes(1);
    static final int MAX_TRUSTED = 256;
    static final String EXPECTED_CIDR = "a proxy's network in CIDR form like 10.0.0.0/24 or 2001:db8::/64, or one address";

    public ProxyProtocol {
        Objects.requireNonNull(tunnel, "proxyProtocol.tunnel");
        Objects.requireNonNull(ssh, "proxyProtocol.ssh");
        Objects.requireNonNull(headerTime, "proxyProtocol.headerTime");
        if (headerTime.compareTo(MIN_HEADER_TIME) < 0 || headerTime.compareTo(MAX_HEADER_TIME) > 0) {
            throw new IllegalArgumentException("proxyProtocol.headerTime: expected a duration between "
                    + Durations.format(MIN_HEADER_TIME) + " and " + Durations.format(MAX_HEADER_TIME) + ", found "
                    + Durations.format(headerTime));
        }
        if (!unsafeTrustAnySource) {
            checkNoAnySource("proxyProtocol.tunnel.trustedProxies", tunnel);
            checkNoAnySource("proxyProtocol.ssh.trustedProxies", ssh);
        }
    }

    /** No trusted proxy on either listener: no PROXY header is taken anywhere. */
    public static ProxyProtocol off() {
        return new ProxyProtocol(Listener.OFF, Listener.OFF, DEFAULT_HEADER_TIME, false);
    }

    /**
     * The proxies one listener trusts, or none (the PROXY protocol is off there).
     *
     * @param trustedProxies the networks a PROXY v2 header is required from
     */
    public record Listener(List<Network> trustedProxies) {

        public static final Listener OFF = new Listener(List.of());

        public Listener {
            trustedProxies = List.copyOf(trustedProxies);
            if (trustedProxies.size() > MAX_TRUSTED) {
                throw new IllegalArgumentException("trustedProxies: expected at most " + MAX_TRUSTED + " networks, found "
                        + trustedProxies.size());
            }
        }

        /** Whether the listener takes PROXY headers at all. */
        public boolean enabled() {
            return !trustedProxies.isEmpty();
        }

        /**
         * Whether a connection from {@code peer} must start with a PROXY v2 header. Asked once per
         * accepted connection, so {@code peer} is normalized once, not once per network.
         */
        public boolean trusts(InetAddress peer) {
            byte[] normalized = Network.normalize(peer).getAddress();
            for (Network n : trustedProxies) {
                if (n.containsNormalized(normalized)) {
                    return true;
                }
            }
            return false;
        }

        static Listener read(ConfigReader r, boolean unsafeTrustAnySource) {
            List<String> text = r.stringList("trustedProxies", List.of());
            List<Network> networks = new ArrayList<>();
            for (int i = 0; i < text.size(); i++) {
                Network n;
                try {
                    n = Network.parse(text.get(i));
                } catch (IllegalArgumentException e) {
                    r.report("trustedProxies[" + i + "]", "expected " + EXPECTED_CIDR + ", found \"" + text.get(i)
                            + "\" (" + e.getMessage() + ")");
                    continue;
                }
                if (n.prefixLength() == 0 && !unsafeTrustAnySource) {
                    r.report("trustedProxies[" + i + "]", anySource(n));
                    continue;
                }
                networks.add(n);
            }
            if (networks.size() > MAX_TRUSTED) {
                r.report("trustedProxies", "expected at most " + MAX_TRUSTED + " networks, found " + networks.size());
                return OFF;
            }
            return new Listener(networks);
        }
    }

    static ProxyProtocol read(ConfigReader r) {
        boolean unsafe = r.bool("unsafeTrustAnySource", false);
        Listener tunnel = r.section("tunnel", t -> Listener.read(t, unsafe));
        Listener ssh = r.section("ssh", t -> Listener.read(t, unsafe));
        Duration headerTime = r.duration("headerTime", DEFAULT_HEADER_TIME, MIN_HEADER_TIME, MAX_HEADER_TIME);
        return new ProxyProtocol(tunnel != null ? tunnel : Listener.OFF, ssh != null ? ssh : Listener.OFF, headerTime,
                unsafe);
    }

    private static void checkNoAnySource(String key, Listener l) {
        for (Network n : l.trustedProxies()) {
            if (n.prefixLength() == 0) {
                throw new IllegalArgumentException(key + ": " + anySource(n));
            }
        }
    }

    private static String anySource(Network n) {
        return "expected the load balancers' own networks, found " + n + " (every address could claim any client"
                + " address; set proxyProtocol.unsafeTrustAnySource: true to allow it)";
    }
}
