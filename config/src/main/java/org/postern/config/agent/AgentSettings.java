package org.postern.config.agent;

import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.postern.config.ConfigException;
import org.postern.config.ConfigReader;
import org.postern.config.Durations;
import org.postern.config.HostPort;
import org.postern.config.InterfaceName;
import org.postern.config.TransportChoice;
import org.postern.config.gateway.Network;

/**
 * The settings of {@code agent.yaml}, read by {@code postern-agent up --config agent.yaml}. Every
 * setting has a default, so {@code up} works with the enrolled state alone; see
 * {@code config/examples/agent.yaml}. Local listeners are on loopback: a SOCKS5 listener on the
 * network would hand the device's access to anyone who can reach the laptop.
 *
 * @param gateways  {@code gateways} (or {@code gateway} for one): the gateways' URLs, tried in this order and
 *                  then round robin when the one in use dies (docs/agent.md "Failover"); empty = the one
 *                  recorded at enrollment
 * @param stateDir  {@code stateDir}: the agent directory; null = {@code --home}, {@code $POSTERN_AGENT_HOME}
 *                  or {@code ~/.postern-agent}
 * @param socks     {@code socks}: the local SOCKS5 listener
 * @param forwards  {@code forwards}: fixed local ports tunnelled to one destination each
 * @param posture   {@code posture}: how the lease is kept
 * @param reconnect {@code reconnect}: how the connection to the gateway is brought back
 * @param ssh       {@code ssh}: the SSH certificate for the gateway's bastion
 * @param tls       {@code tls}: how the connection to the gateway is encrypted
 * @param transport {@code transport}: the Netty transport of the agent's sockets ({@code auto},
 *                  {@code io_uring}, {@code epoll}, {@code nio})
 * @param vpn       {@code vpn}: the VPN mode (a TUN interface, IP packets over MASQUE CONNECT-IP); off by default
 */
public record AgentSettings(List<URI> gateways, @Nullable Path stateDir, Socks socks, List<Forward> forwards, Posture posture,
                            Reconnect reconnect, Ssh ssh, Tls tls, TransportChoice transport, Vpn vpn) {

    /** What a gateway URL must look like, in every message about one. */
    static final String GATEWAY_URL = "an https URL like https://gw.example.org:8443";

    public AgentSettings {
        gateways = List.copyOf(gateways);
        for (URI g : gateways) {
            if (!isGatewayUrl(g)) {
                throw new IllegalArgumentException("gateways: expected " + GATEWAY_URL + ", found \"" + g + "\"");
            }
        }
        if (new HashSet<>(gateways).size() != gateways.size()) {
            throw new IllegalArgumentException("gateways: expected each URL once, found " + gateways);
        }
        Objects.requireNonNull(socks, "socks");
        forwards = List.copyOf(forwards);
        Objects.requireNonNull(posture, "posture");
        Objects.requireNonNull(reconnect, "reconnect");
        Objects.requireNonNull(ssh, "ssh");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(vpn, "vpn");
        Optional<String> clash = clash(socks, forwards);
        if (clash.isPresent()) {
            throw new IllegalArgumentException(clash.get());
        }
    }

    /** Settings with the VPN mode off. */
    public AgentSettings(List<URI> gateways, @Nullable Path stateDir, Socks socks, List<Forward> forwards,
                         Posture posture, Reconnect reconnect, Ssh ssh, Tls tls, TransportChoice transport) {
        this(gateways, stateDir, socks, forwards, posture, reconnect, ssh, tls, transport, Vpn.defaults());
    }

    /** Settings with {@code transport: auto}. */
    public AgentSettings(List<URI> gateways, @Nullable Path stateDir, Socks socks, List<Forward> forwards,
                         Posture posture, Reconnect reconnect, Ssh ssh, Tls tls) {
        this(gateways, stateDir, socks, forwards, posture, reconnect, ssh, tls, TransportChoice.AUTO);
    }

    /** Settings with {@code tls} at its defaults. */
    public AgentSettings(List<URI> gateways, @Nullable Path stateDir, Socks socks, List<Forward> forwards,
                         Posture posture, Reconnect reconnect, Ssh ssh, TransportChoice transport) {
        this(gateways, stateDir, socks, forwards, posture, reconnect, ssh, Tls.defaults(), transport);
    }

    /** Settings with {@code ssh} and {@code tls} at their defaults. */
    public AgentSettings(List<URI> gateways, Path stateDir, Socks socks, List<Forward> forwards, Posture posture,
                         Reconnect reconnect) {
        this(gateways, stateDir, socks, forwards, posture, reconnect, Ssh.defaults(), Tls.defaults());
    }

    /** Settings with {@code tls} at its defaults. */
    public AgentSettings(List<URI> gateways, Path stateDir, Socks socks, List<Forward> forwards, Posture posture,
                         Reconnect reconnect, Ssh ssh) {
        this(gateways, stateDir, socks, forwards, posture, reconnect, ssh, Tls.defaults());
    }

    /** Every setting at its default: SOCKS5 on 127.0.0.1:1080, no forwards, SSH certificates on. */
    public static AgentSettings defaults() {
        return new AgentSettings(List.of(), null, Socks.defaults(), List.of(), Posture.defaults(), Reconnect.defaults(),
                Ssh.defaults(), Tls.defaults());
    }

    /**
     * Reads {@code file}; relative paths in it are resolved against its directory.
     *
     * @throws ConfigException listing every problem in the file, each with its key path
     */
    public static AgentSettings load(Path file) {
        return ConfigReader.load(file, AgentSettings::read);
    }

    /** Binds an {@code agent.yaml} document; for {@link ConfigReader#load} and {@link ConfigReader#parse}. */
    public static @Nullable AgentSettings read(ConfigReader r) {
        List<URI> gateways = gateways(r);
        Path stateDir = r.path("stateDir");
        Socks socks = r.section("socks", Socks::read);
        List<Forward> forwards = r.list("forwards", Forward::read);
        Posture posture = r.section("posture", Posture::read);
        Reconnect reconnect = r.section("reconnect", Reconnect::read);
        Ssh ssh = r.section("ssh", Ssh::read);
        Tls tls = r.section("tls", Tls::read);
        TransportChoice transport = TransportChoice.read(r);
        Vpn vpn = r.section("vpn", Vpn::read);
        if (socks == null || posture == null || reconnect == null || ssh == null || tls == null || vpn == null) {
            return null; // reported already
        }
        Optional<String> clash = clash(socks, forwards);
        if (clash.isPresent()) {
            r.report("forwards", clash.get().substring("forwards: ".length()));
            return null;
        }
        return new AgentSettings(gateways, stateDir, socks, forwards, posture, reconnect, ssh, tls, transport, vpn);
    }

    /**
     * {@code gateway: URL} or {@code gateways: [URL, …]}, one of the two: a single gateway is a list
     * of one. Both given is a problem (which one would win is not obvious to whoever reads the file).
     */
    private static List<URI> gateways(ConfigReader r) {
        URI one = r.value("gateway", null, GATEWAY_URL, AgentSettings::gatewayUrl);
        boolean listed = r.has("gateways");
        List<String> unread = new java.util.ArrayList<>(); // returned when absent or an element was reported
        List<String> many = r.stringList("gateways", unread);
        if (listed && many == unread) {
            return List.of();
        }
        if (one != null && listed) {
            r.report("gateways", "expected either gateway or gateways, found both (gateway: " + one
                    + "; put every URL under gateways)");
            return List.of();
        }
        if (one != null) {
            return List.of(one);
        }
        if (!listed) {
            return List.of();
        }
        if (many.isEmpty()) {
            r.report("gateways", "expected at least one URL (" + GATEWAY_URL + "), found an empty list");
            return List.of();
        }
        List<URI> out = new java.util.ArrayList<>();
        for (int i = 0; i < many.size(); i++) {
            try {
                URI u = gatewayUrl(many.get(i));
                if (out.contains(u)) {
                    r.report("gateways[" + i + "]", "expected each URL once, found " + u + " again");
                } else {
                    out.add(u);
                }
            } catch (org.postern.config.InvalidValueException e) {
                r.report("gateways[" + i + "]", "expected " + GATEWAY_URL + ", found \"" + many.get(i) + "\"");
            }
        }
        return out.size() == many.size() ? out : List.of();
    }

    private static URI gatewayUrl(String s) {
        try {
            URI u = new URI(s);
            if (isGatewayUrl(u)) {
                return u;
            }
        } catch (java.net.URISyntaxException e) {
            // reported below
        }
        throw new org.postern.config.InvalidValueException(GATEWAY_URL, s);
    }

    private static boolean isGatewayUrl(URI u) {
        return "https".equalsIgnoreCase(u.getScheme()) && u.getHost() != null;
    }

    /** Two local listeners on one address: the second could never bind. */
    private static Optional<String> clash(Socks socks, List<Forward> forwards) {
        Set<HostPort> seen = new HashSet<>();
        if (socks.enabled()) {
            seen.add(socks.listen());
        }
        for (Forward f : forwards) {
            if (!seen.add(f.listen())) {
                return Optional.of("forwards: expected each listen address once (socks.listen included), found "
                        + f.listen() + " twice");
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code host} is {@code localhost} or a loopback literal, decided without DNS: any other
     * name could resolve anywhere, so it counts as not loopback.
     */
    public static boolean isLoopback(String host) {
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        InetAddress a = Network.parseAddress(host);
        return a != null && a.isLoopbackAddress();
    }

    /**
     * The SOCKS5 listener (RFC 1928, CONNECT with no authentication: anything that can reach it
     * uses the device's access, hence loopback unless a key named for the danger says otherwise).
     *
     * @param enabled               {@code socks.enabled}: whether to listen at all
     * @param listen                {@code socks.listen}: where
     * @param unsafeListenOnNetwork {@code socks.unsafeListenOnNetwork}: allow a non-loopback address
     */
    public record Socks(boolean enabled, HostPort listen, boolean unsafeListenOnNetwork) {
        public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 1080);

        public Socks {
            Objects.requireNonNull(listen, "listen");
            if (!unsafeListenOnNetwork && !isLoopback(listen.host())) {
                throw new IllegalArgumentException("socks.listen: " + notLoopback(listen));
            }
        }

        public static Socks defaults() {
            return new Socks(true, DEFAULT_LISTEN, false);
        }

        static Socks read(ConfigReader r) {
            boolean enabled = r.bool("enabled", true);
            HostPort listen = r.hostPort("listen", DEFAULT_LISTEN);
            boolean unsafe = r.bool("unsafeListenOnNetwork", false);
            if (!unsafe && !isLoopback(listen.host())) {
                r.report("listen", notLoopback(listen));
                listen = DEFAULT_LISTEN;
            }
            return new Socks(enabled, listen, unsafe);
        }

        private static String notLoopback(HostPort listen) {
            return "expected a loopback address like 127.0.0.1:1080 (anyone who reaches the SOCKS5 listener uses this"
                    + " device's access, unless socks.unsafeListenOnNetwork: true), found " + listen;
        }
    }

    /**
     * One port forward: connections to {@code listen} (loopback only) are tunnelled to {@code to}.
     *
     * @param listen {@code forwards[i].listen}
     * @param to     {@code forwards[i].to}: the destination as the gateway's access policy names it
     */
    public record Forward(HostPort listen, HostPort to) {
        public Forward {
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(to, "to");
            if (!isLoopback(listen.host())) {
                throw new IllegalArgumentException("forwards: listen: " + notLoopback(listen));
            }
        }

        static Forward read(ConfigReader r) {
            HostPort listen = r.hostPort("listen", null);
            HostPort to = r.hostPort("to", null);
            boolean ok = true;
            if (listen == null && !r.has("listen")) {
                r.report("listen", "expected a loopback host:port like 127.0.0.1:2201, found none");
                ok = false;
            } else if (listen != null && !isLoopback(listen.host())) {
                r.report("listen", notLoopback(listen));
                ok = false;
            }
            if (to == null && !r.has("to")) {
                r.report("to", "expected the destination host:port like db1.admin.internal:22, found none");
                ok = false;
            }
            return ok && listen != null && to != null ? new Forward(listen, to) : null;
        }

        private static String notLoopback(HostPort listen) {
            return "expected a loopback address like 127.0.0.1:2201 (a forward must not face the network), found "
                    + listen;
        }
    }

    /**
     * How {@code up} keeps its posture lease.
     *
     * @param collector     {@code posture.collector}: native, osquery or auto
     * @param retryInterval {@code posture.retryInterval}: wait after a denial before proving again
     * @param renewMargin   {@code posture.renewMargin}: renew this long before the lease ends
     */
    public record Posture(Collector collector, Duration retryInterval, Duration renewMargin) {
        public static final Duration DEFAULT_RETRY = Duration.ofSeconds(30);
        public static final Duration DEFAULT_RENEW_MARGIN = Duration.ofMinutes(2);

        /** Which collector gathers the facts, as {@code postern-agent check --collector}. */
        public enum Collector { NATIVE, OSQUERY, AUTO }

        public Posture {
            Objects.requireNonNull(collector, "collector");
            Objects.requireNonNull(retryInterval, "retryInterval");
            Objects.requireNonNull(renewMargin, "renewMargin");
            if (retryInterval.compareTo(Duration.ofSeconds(1)) < 0 || retryInterval.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("posture.retryInterval: expected a duration between 1s and 1h, found "
                        + Durations.format(retryInterval));
            }
            if (renewMargin.compareTo(Duration.ofSeconds(1)) < 0 || renewMargin.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("posture.renewMargin: expected a duration between 1s and 1h, found "
                        + Durations.format(renewMargin));
            }
        }

        public static Posture defaults() {
            return new Posture(Collector.NATIVE, DEFAULT_RETRY, DEFAULT_RENEW_MARGIN);
        }

        static Posture read(ConfigReader r) {
            return new Posture(r.choice("collector", Collector.class, Collector.NATIVE),
                    r.duration("retryInterval", DEFAULT_RETRY, Duration.ofSeconds(1), Duration.ofHours(1)),
                    r.duration("renewMargin", DEFAULT_RENEW_MARGIN, Duration.ofSeconds(1), Duration.ofHours(1)));
        }
    }

    /**
     * Backoff between attempts to reach the gateway: {@code minBackoff}, doubled after each failure
     * up to {@code maxBackoff}, back to {@code minBackoff} once connected.
     *
     * @param minBackoff {@code reconnect.minBackoff}
     * @param maxBackoff {@code reconnect.maxBackoff}
     */
    public record Reconnect(Duration minBackoff, Duration maxBackoff) {
        public static final Duration DEFAULT_MIN = Duration.ofSeconds(1);
        public static final Duration DEFAULT_MAX = Duration.ofSeconds(60);

        public Reconnect {
            Objects.requireNonNull(minBackoff, "minBackoff");
            Objects.requireNonNull(maxBackoff, "maxBackoff");
            if (minBackoff.compareTo(Duration.ofMillis(100)) < 0 || minBackoff.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("reconnect.minBackoff: expected a duration between 100ms and 10m, found "
                        + Durations.format(minBackoff));
            }
            if (maxBackoff.compareTo(minBackoff) < 0 || maxBackoff.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("reconnect.maxBackoff: expected a duration between reconnect.minBackoff ("
                        + Durations.format(minBackoff) + ") and 1h, found " + Durations.format(maxBackoff));
            }
        }

        public static Reconnect defaults() {
            return new Reconnect(DEFAULT_MIN, DEFAULT_MAX);
        }

        static Reconnect read(ConfigReader r) {
            Duration min = r.duration("minBackoff", DEFAULT_MIN, Duration.ofMillis(100), Duration.ofMinutes(10));
            Duration max = r.duration("maxBackoff", DEFAULT_MAX, Duration.ofMillis(100), Duration.ofHours(1));
            if (max.compareTo(min) < 0) {
                r.report("maxBackoff", "expected a duration of at least reconnect.minBackoff (" + Durations.format(min)
                        + "), found " + Durations.format(max));
                return defaults();
            }
            return new Reconnect(min, max);
        }

        /** The wait before attempt {@code failures + 1}: min · 2^failures, at most max. */
        public Duration backoff(int failures) {
            Duration d = minBackoff;
            for (int i = 0; i < failures && d.compareTo(maxBackoff) < 0; i++) {
                d = d.multipliedBy(2);
            }
            return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
        }
    }

    /**
     * The SSH certificate {@code up} asks the gateway for, and what {@code ssh-config} says about the
     * bastion (docs/ssh.md).
     *
     * @param enabled    {@code ssh.enabled}: ask for a certificate after each allowed posture decision
     *                   (a gateway that answers 404 has no bastion: asked once per connection)
     * @param bastion    {@code ssh.bastion}: the bastion's {@code host:port}; null = the gateway's host,
     *                   port {@link #DEFAULT_PORT}
     * @param knownHosts {@code ssh.knownHosts}: a known_hosts file pinning the bastion's host key,
     *                   written into {@code ssh-config} as {@code UserKnownHostsFile}; null = the user's own
     */
    public record Ssh(boolean enabled, @Nullable HostPort bastion, @Nullable Path knownHosts) {
        /** The gateway's {@code listeners.ssh} port by default. */
        public static final int DEFAULT_PORT = 2222;

        public static Ssh defaults() {
            return new Ssh(true, null, null);
        }

        /** The bastion's address: {@code ssh.bastion}, else the (first) gateway's host on {@link #DEFAULT_PORT}. */
        public HostPort bastionFor(URI gateway) {
            return bastion != null ? bastion : new HostPort(gateway.getHost(), DEFAULT_PORT);
        }

        static Ssh read(ConfigReader r) {
            return new Ssh(r.bool("enabled", true), r.hostPort("bastion", null), r.path("knownHosts"));
        }
    }

    /**
     * The TLS engine of the connection to the gateway. Either one presents the device key where it
     * lives (a key file, or a PKCS#11 token whose key never leaves it) and keeps one policy: TLS 1.3,
     * ALPN {@code h2}, the CA pinned at enrollment, the gateway's host name checked.
     *
     * @param provider {@code tls.provider}: {@code auto} (BoringSSL when its native library loads on
     *                 this machine, else the JDK's), {@code openssl} (BoringSSL through netty-tcnative,
     *                 or fail saying why), {@code jdk} (the JDK's engine: slower record layer, no
     *                 native code); spelled as the gateway's {@code tls.provider}
     */
    public record Tls(Provider provider) {
        /** Which engine encrypts the connection. */
        public enum Provider { AUTO, OPENSSL, JDK }

        public Tls {
            Objects.requireNonNull(provider, "provider");
        }

        public static Tls defaults() {
            return new Tls(Provider.AUTO);
        }

        static Tls read(ConfigReader r) {
            return new Tls(r.choice("provider", Provider.class, Provider.AUTO));
        }
    }

    /**
     * The VPN mode of {@code postern-agent up}: a TUN interface whose packets go to the gateway
     * (docs/vpn.md). Split tunnel by default: only the routes the gateway advertises for the
     * owner's groups go through it.
     *
     * @param enabled       {@code vpn.enabled}: bring the VPN up with {@code up}
     * @param fullTunnel    {@code vpn.fullTunnel}: ask for the default route too (the gateway must allow it)
     * @param transport     {@code vpn.transport}: {@code h3} (HTTP/3 over UDP), {@code h2} (HTTP/2 over the
     *                      TCP tunnel listener), or {@code auto} (HTTP/3, falling back to HTTP/2)
     * @param interfaceName {@code vpn.interface}: the TUN device to create
     * @param dns           {@code vpn.dns}: apply the resolvers and search domains the gateway pushes, for
     *                      that interface only, restored on exit
     */
    public record Vpn(boolean enabled, boolean fullTunnel, Transport transport, String interfaceName, boolean dns) {

        /** Which HTTP version carries the VPN. */
        public enum Transport { AUTO, H3, H2 }

        public Vpn {
            Objects.requireNonNull(transport, "vpn.transport");
            Objects.requireNonNull(interfaceName, "vpn.interface");
            if (!InterfaceName.isValid(interfaceName)) {
                throw new IllegalArgumentException("vpn.interface: expected " + InterfaceName.EXPECTED + ", found \""
                        + interfaceName + "\"");
            }
        }

        /** Off; the rest at its defaults. */
        public static Vpn defaults() {
            return new Vpn(false, false, Transport.AUTO, InterfaceName.DEFAULT, true);
        }

        static Vpn read(ConfigReader r) {
            return new Vpn(r.bool("enabled", false), r.bool("fullTunnel", false),
                    r.choice("transport", Transport.class, Transport.AUTO), InterfaceName.read(r, "interface"),
                    r.bool("dns", true));
        }
    }
}
