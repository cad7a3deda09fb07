package org.postern.config.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.postern.config.ConfigException;
import org.postern.config.ConfigReader;
import org.postern.config.DataSize;
import org.postern.config.Durations;
import org.postern.config.HostPort;
import org.postern.config.InterfaceName;
import org.postern.config.InvalidValueException;
import org.postern.config.PkiSettings;
import org.postern.config.RegistrySettings;
import org.postern.config.TransportChoice;
import org.postern.config.posture.PosturePolicy;

/**
 * The settings of {@code gateway.yaml}, read by {@code postern gateway run --config gateway.yaml}.
 * Every setting has a default, so an empty file is valid (and lets nobody through: the access
 * policy denies by default); see {@code config/examples/gateway.yaml}. The constructors validate
 * too, so settings built in code obey the same bounds as a file.
 *
 * @param id        {@code gateway.id}: names this gateway in the audit trail; default the host name
 * @param dataDir   {@code dataDir}: the PKI data directory (CA, device registry)
 * @param listeners {@code listeners}: where the gateway listens
 * @param tls       {@code tls}: server certificate, provider and protocol versions
 * @param posture   {@code posture}: what a laptop must show ({@link PosturePolicy})
 * @param access    {@code access}: which groups may reach which destinations
 * @param limits    {@code limits}: bounds on what one peer may make the gateway hold
 * @param audit     {@code audit}: the audit trail
 * @param ssh       {@code ssh}: the SSH bastion on {@code listeners.ssh}
 * @param pki       {@code pki}: the PKI settings certificates issued at this gateway follow
 * @param transport {@code transport}: the Netty transport of every socket ({@code auto}, {@code io_uring},
 *                  {@code epoll}, {@code nio}); chosen once at start
 * @param vpn       {@code vpn}: the VPN mode (IP packets over MASQUE CONNECT-IP); off by default
 * @param proxyProtocol {@code proxyProtocol}: the load balancers trusted to send PROXY v2 headers; none by default
 * @param registry  {@code registry}: the device registry, SQLite in {@code dataDir} or a shared PostgreSQL
 * @param charter   {@code charter}: the remote-work charter a device must have accepted ({@link Charter}),
 *                  or null when none is required
 */
public record GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                              AccessRules access, Limits limits, Audit audit, Ssh ssh, Pki pki,
                              TransportChoice transport, Vpn vpn, ProxyProtocol proxyProtocol,
                              RegistrySettings registry, @Nullable Charter charter) {

    /** {@code dataDir} when not set. */
    public static final Path DEFAULT_DATA_DIR = Path.of("/var/lib/postern");
    static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    static final String EXPECTED_ID = "an id of 1 to 63 letters, digits, '.', '_' or '-', like gw-paris-1";

    public GatewaySettings {
        Objects.requireNonNull(id, "id");
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("gateway.id: expected " + EXPECTED_ID + ", found \"" + id + "\"");
        }
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(listeners, "listeners");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(posture, "posture");
        Objects.requireNonNull(access, "access");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(audit, "audit");
        Objects.requireNonNull(ssh, "ssh");
        Objects.requireNonNull(pki, "pki");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(vpn, "vpn");
        Objects.requireNonNull(proxyProtocol, "proxyProtocol");
        Objects.requireNonNull(registry, "registry");
    }

    /** Settings without a remote-work charter (none is required). */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit, Ssh ssh, Pki pki,
                           TransportChoice transport, Vpn vpn, ProxyProtocol proxyProtocol, RegistrySettings registry) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, transport, vpn, proxyProtocol,
                registry, null);
    }

    /** These settings with {@code charter} as the remote-work charter (null: none required). */
    public GatewaySettings withCharter(@Nullable Charter charter) {
        return new GatewaySettings(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, transport, vpn,
                proxyProtocol, registry, charter);
    }

    /** Settings with the registry in the SQLite file of {@code dataDir}. */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit, Ssh ssh, Pki pki,
                           TransportChoice transport, Vpn vpn, ProxyProtocol proxyProtocol) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, transport, vpn, proxyProtocol,
                RegistrySettings.defaults());
    }

    /** Settings without a trusted load balancer (no PROXY protocol). */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit, Ssh ssh, Pki pki,
                           TransportChoice transport, Vpn vpn, RegistrySettings registry) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, transport, vpn, ProxyProtocol.off(),
                registry);
    }

    /** Settings without a trusted load balancer, the registry in the SQLite file of {@code dataDir}. */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit, Ssh ssh, Pki pki,
                           TransportChoice transport, Vpn vpn) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, transport, vpn, ProxyProtocol.off(),
                RegistrySettings.defaults());
    }

    /** Settings with the VPN mode off. */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit, Ssh ssh, Pki pki,
                           TransportChoice transport) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, transport,
                Vpn.disabled(listeners.tunnel()));
    }

    /** Settings with {@code transport: auto}. */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit, Ssh ssh, Pki pki) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, TransportChoice.AUTO);
    }

    /** Settings with the PKI settings at their defaults for the tunnel listener. */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit, Ssh ssh) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, Pki.defaults(listeners.tunnel()));
    }

    /** Settings with the SSH bastion at its defaults under {@code dataDir}. */
    public GatewaySettings(String id, Path dataDir, Listeners listeners, Tls tls, PosturePolicy posture,
                           AccessRules access, Limits limits, Audit audit) {
        this(id, dataDir, listeners, tls, posture, access, limits, audit, Ssh.defaults(dataDir));
    }

    /** Every setting at its default: loopback listeners, self-issued TLS 1.3, no access rule. */
    public static GatewaySettings defaults() {
        return new GatewaySettings(defaultId(), DEFAULT_DATA_DIR, Listeners.defaults(), Tls.defaults(),
                PosturePolicy.defaults(), AccessRules.denyAll(), Limits.defaults(), Audit.defaults(DEFAULT_DATA_DIR),
                Ssh.defaults(DEFAULT_DATA_DIR), Pki.defaults(Listeners.defaults().tunnel()));
    }

    /**
     * Reads {@code file}; relative paths in it are resolved against its directory.
     *
     * @throws ConfigException listing every problem in the file, each with its key path
     */
    public static GatewaySettings load(Path file) {
        return ConfigReader.load(file, GatewaySettings::read);
    }

    /** Binds a {@code gateway.yaml} document; for {@link ConfigReader#load} and {@link ConfigReader#parse}. */
    public static @Nullable GatewaySettings read(ConfigReader r) {
        String id = r.section("gateway", g -> g.value("id", defaultId(), EXPECTED_ID, s -> {
            if (!ID.matcher(s).matches()) {
                throw new InvalidValueException(EXPECTED_ID, s);
            }
            return s;
        }));
        Path dataDir = r.path("dataDir", DEFAULT_DATA_DIR.toString());
        Listeners listeners = r.section("listeners", Listeners::read);
        Tls tls = r.section("tls", Tls::read);
        PosturePolicy posture = r.section("posture", PosturePolicy::read);
        AccessRules access = r.section("access", AccessRules::read);
        Limits limits = r.section("limits", Limits::read);
        Path trail = dataDir.resolve(Audit.DEFAULT_DIR);
        Audit audit = r.section("audit", a -> Audit.read(a, trail));
        Ssh ssh = r.section("ssh", s -> Ssh.read(s, dataDir));
        HostPort tunnel = listeners != null ? listeners.tunnel() : Listeners.defaults().tunnel();
        Pki pki = r.section("pki", p -> Pki.read(p, tunnel));
        TransportChoice transport = TransportChoice.read(r);
        Vpn vpn = r.section("vpn", v -> Vpn.read(v, tunnel));
        ProxyProtocol proxyProtocol = r.section("proxyProtocol", ProxyProtocol::read);
        RegistrySettings registry = r.section("registry", RegistrySettings::read);
        // absent: no charter is required (existing deployments keep working); present: it must be whole
        boolean charterSet = r.has("charter");
        Charter charter = charterSet ? r.section("charter", Charter::read) : null;
        if (r.isNull("charter")) {
            // `charter:` with nothing under it (an indentation slip) must not silently mean "no charter"
            r.report("charter", "expected a map with version and text or file, found nothing");
            charterSet = true;
        }
        if (registry != null && pki != null && pki.file() != null && !pki.settings().registry().url().equals(registry.url())) {
            // `postern pki --config` would revoke in another registry than the one this gateway reads
            r.report("registry", "expected the registry of pki.settings (" + pki.settings().registry().url() + " in "
                    + pki.file() + "), found url " + registry.url());
        }
        if (id == null || listeners == null || tls == null || posture == null || access == null || limits == null
                || audit == null || ssh == null || pki == null || vpn == null || registry == null
                || proxyProtocol == null || (charterSet && charter == null)) {
            return null; // reported already; the reader throws at the end
        }
        return new GatewaySettings(id, dataDir, listeners, tls, posture, access, limits, audit, ssh, pki, transport, vpn,
                proxyProtocol, registry, charter);
    }

    /**
     * The host name, as the system names itself, when it is a valid id; else {@code gateway}.
     * Read from the environment or {@code /etc/hostname} first: asking {@link InetAddress} may
     * wait on DNS.
     */
    static String defaultId() {
        return DefaultId.VALUE;
    }

    private static final class DefaultId {
        static final String VALUE = compute();

        private static String compute() {
            for (String candidate : new String[] {System.getenv("HOSTNAME"), System.getenv("COMPUTERNAME"),
                    etcHostname()}) {
                String id = shortName(candidate);
                if (id != null) {
                    return id;
                }
            }
            try {
                String id = shortName(InetAddress.getLocalHost().getHostName());
                return id != null ? id : "gateway";
            } catch (IOException e) {
                return "gateway";
            }
        }

        private static @Nullable String etcHostname() {
            try {
                return Files.readString(Path.of("/etc/hostname")).strip();
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        private static @Nullable String shortName(@Nullable String host) {
            if (host == null) {
                return null;
            }
            String h = host.strip().toLowerCase(Locale.ROOT);
            return ID.matcher(h).matches() ? h : null;
        }
    }

    /**
     * The gateway's listeners. The admin listener carries the admin API and console, so it is on
     * loopback unless the operator says, in a key named for the danger, that it should not be.
     *
     * @param tunnel               {@code listeners.tunnel}: EST, posture endpoints and CONNECT tunnels
     * @param admin                {@code listeners.admin}: admin API, console, metrics
     * @param unsafeAdminOnNetwork {@code listeners.unsafeAdminOnNetwork}: allow a non-loopback admin listener
     * @param ssh                  {@code listeners.ssh}: the SSH bastion (forwarding only)
     */
    public record Listeners(HostPort tunnel, HostPort admin, boolean unsafeAdminOnNetwork, HostPort ssh) {

        public static final HostPort DEFAULT_TUNNEL = new HostPort("127.0.0.1", 8443);
        public static final HostPort DEFAULT_ADMIN = new HostPort("127.0.0.1", 9443);
        public static final HostPort DEFAULT_SSH = new HostPort("127.0.0.1", 2222);

        public Listeners {
            Objects.requireNonNull(tunnel, "tunnel");
            Objects.requireNonNull(admin, "admin");
            if (!unsafeAdminOnNetwork && !isLoopback(admin.host())) {
                throw new IllegalArgumentException("listeners.admin: " + adminNotLoopback(admin));
            }
            if (tunnel.equals(admin)) {
                throw new IllegalArgumentException("listeners.admin: " + samePort(admin));
            }
            Objects.requireNonNull(ssh, "ssh");
            if (ssh.equals(tunnel) || ssh.equals(admin)) {
                throw new IllegalArgumentException("listeners.ssh: " + sshSamePort(ssh));
            }
        }

        /** The listeners with the SSH bastion on {@link #DEFAULT_SSH}. */
        public Listeners(HostPort tunnel, HostPort admin, boolean unsafeAdminOnNetwork) {
            this(tunnel, admin, unsafeAdminOnNetwork, DEFAULT_SSH);
        }

        public static Listeners defaults() {
            return new Listeners(DEFAULT_TUNNEL, DEFAULT_ADMIN, false, DEFAULT_SSH);
        }

        static Listeners read(ConfigReader r) {
            HostPort tunnel = r.hostPort("tunnel", DEFAULT_TUNNEL);
            HostPort admin = r.hostPort("admin", DEFAULT_ADMIN);
            boolean unsafe = r.bool("unsafeAdminOnNetwork", false);
            HostPort ssh = r.hostPort("ssh", DEFAULT_SSH);
            if (!unsafe && !isLoopback(admin.host())) {
                r.report("admin", adminNotLoopback(admin));
                admin = DEFAULT_ADMIN;
            }
            if (tunnel.equals(admin)) {
                r.report("admin", samePort(admin));
                return defaults();
            }
            if (ssh.equals(tunnel) || ssh.equals(admin)) {
                r.report("ssh", sshSamePort(ssh));
                return defaults();
            }
            return new Listeners(tunnel, admin, unsafe, ssh);
        }

        private static String sshSamePort(HostPort ssh) {
            return "expected an address other than listeners.tunnel and listeners.admin, found the same " + ssh;
        }

        /**
         * Whether {@code host} is {@code localhost} or a loopback literal. Decided without DNS: any
         * other name could resolve anywhere, so it counts as not loopback.
         */
        static boolean isLoopback(String host) {
            if (host.equalsIgnoreCase("localhost")) {
                return true;
            }
            InetAddress a = Network.parseAddress(host);
            return a != null && a.isLoopbackAddress();
        }

        private static String adminNotLoopback(HostPort admin) {
            return "expected a loopback address like 127.0.0.1:9443 (the admin API must not face the network"
                    + " unless listeners.unsafeAdminOnNetwork: true), found " + admin;
        }

        private static String samePort(HostPort admin) {
            return "expected an address other than listeners.tunnel, found the same " + admin;
        }
    }

    /**
     * The TLS server side of the tunnel and admin listeners.
     *
     * @param certificate {@code tls.certificate}: PEM chain, server certificate first; null with
     *                    {@code key} null: the gateway uses a certificate issued by its own PKI
     * @param key         {@code tls.key}: PEM PKCS#8 private key of that certificate
     * @param provider    {@code tls.provider}: {@code openssl} (BoringSSL via netty-tcnative),
     *                    {@code jdk}, or {@code auto} (OpenSSL when present, else the JDK)
     * @param allowTls12  {@code tls.allowTls12}: also accept TLS 1.2, with AEAD ECDHE suites only
     */
    public record Tls(@Nullable Path certificate, @Nullable Path key, Provider provider, boolean allowTls12) {

        /** TLS 1.2 suites allowed when {@code allowTls12} is set: ECDHE (forward secrecy) with AEAD only. */
        public static final List<String> TLS12_CIPHER_SUITES = List.of(
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        /** TLS 1.3 suites; all are AEAD. */
        public static final List<String> TLS13_CIPHER_SUITES = List.of(
                "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");

        /** Which TLS implementation serves the handshakes. */
        public enum Provider { OPENSSL, JDK, AUTO }

        public Tls {
            Objects.requireNonNull(provider, "provider");
            if ((certificate == null) != (key == null)) {
                throw new IllegalArgumentException("tls: " + bothOrNeither(certificate));
            }
        }

        public static Tls defaults() {
            return new Tls(null, null, Provider.AUTO, false);
        }

        /** Whether the gateway issues its own server certificate from its PKI (none configured). */
        public boolean selfIssued() {
            return certificate == null;
        }

        /** The protocol versions to enable: {@code TLSv1.3}, and {@code TLSv1.2} when allowed. */
        public List<String> protocols() {
            return protocols(allowTls12);
        }

        /** The cipher suites to enable for {@link #protocols()}. */
        public List<String> cipherSuites() {
            return cipherSuites(allowTls12);
        }

        /**
         * The one TLS policy's protocol versions, for every TLS endpoint with an {@code allowTls12}
         * setting (the listeners here, the SIEM connection): TLS 1.3, and 1.2 only when allowed.
         */
        public static List<String> protocols(boolean allowTls12) {
            return allowTls12 ? List.of("TLSv1.3", "TLSv1.2") : List.of("TLSv1.3");
        }

        /** The one TLS policy's cipher suites for {@link #protocols(boolean)}: TLS 1.2 ones are ECDHE with AEAD only. */
        public static List<String> cipherSuites(boolean allowTls12) {
            if (!allowTls12) {
                return TLS13_CIPHER_SUITES;
            }
            return java.util.stream.Stream.concat(TLS13_CIPHER_SUITES.stream(), TLS12_CIPHER_SUITES.stream()).toList();
        }

        static Tls read(ConfigReader r) {
            Path certificate = r.path("certificate");
            Path key = r.path("key");
            Provider provider = r.choice("provider", Provider.class, Provider.AUTO);
            boolean allowTls12 = r.bool("allowTls12", false);
            if ((certificate == null) != (key == null)) {
                r.report(null, bothOrNeither(certificate));
                return new Tls(null, null, provider, allowTls12);
            }
            return new Tls(certificate, key, provider, allowTls12);
        }

        private static String bothOrNeither(Path certificate) {
            return "expected both certificate and key, or neither, found only "
                    + (certificate != null ? "certificate" : "key");
        }
    }

    /**
     * Bounds on what one peer can make the gateway hold. Each protects the others' service, so
     * none can be switched off.
     *
     * @param headerSize           {@code limits.headerSize}: largest request head (line and headers)
     * @param headerTime           {@code limits.headerTime}: time allowed to send a whole request head
     * @param idleTimeout          {@code limits.idleTimeout}: a tunnel with no byte either way closes after this
     * @param streamsPerConnection {@code limits.streamsPerConnection}: concurrent HTTP/2 streams per connection
     * @param connectionsPerSource {@code limits.connectionsPerSource}: concurrent connections per source address
     * @param flowsPerDevice       {@code limits.flowsPerDevice}: concurrent tunnels per device
     */
    public record Limits(DataSize headerSize, Duration headerTime, Duration idleTimeout, int streamsPerConnection,
                         int connectionsPerSource, int flowsPerDevice) {

        public static final DataSize DEFAULT_HEADER_SIZE = DataSize.ofKiB(16);
        public static final Duration DEFAULT_HEADER_TIME = Duration.ofSeconds(10);
        public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
        public static final int DEFAULT_STREAMS_PER_CONNECTION = 100;
        public static final int DEFAULT_CONNECTIONS_PER_SOURCE = 50;
        public static final int DEFAULT_FLOWS_PER_DEVICE = 64;

        static final DataSize MIN_HEADER_SIZE = DataSize.ofKiB(1);
        static final DataSize MAX_HEADER_SIZE = DataSize.ofMiB(1);
        static final Duration MIN_HEADER_TIME = Duration.ofSeconds(1);
        static final Duration MAX_HEADER_TIME = Duration.ofMinutes(5);
        static final Duration MIN_IDLE = Duration.ofSeconds(10);
        static final Duration MAX_IDLE = Duration.ofHours(24);
        static final int MAX_STREAMS = 10_000;
        static final int MAX_CONNECTIONS = 100_000;
        static final int MAX_FLOWS = 10_000;

        public Limits {
            Objects.requireNonNull(headerSize, "headerSize");
            if (headerSize.compareTo(MIN_HEADER_SIZE) < 0 || headerSize.compareTo(MAX_HEADER_SIZE) > 0) {
                throw new IllegalArgumentException("limits.headerSize: expected a size between " + MIN_HEADER_SIZE
                        + " and " + MAX_HEADER_SIZE + ", found " + headerSize);
            }
            checkDuration("limits.headerTime", headerTime, MIN_HEADER_TIME, MAX_HEADER_TIME);
            checkDuration("limits.idleTimeout", idleTimeout, MIN_IDLE, MAX_IDLE);
            checkCount("limits.streamsPerConnection", streamsPerConnection, MAX_STREAMS);
            checkCount("limits.connectionsPerSource", connectionsPerSource, MAX_CONNECTIONS);
            checkCount("limits.flowsPerDevice", flowsPerDevice, MAX_FLOWS);
        }

        public static Limits defaults() {
            return new Limits(DEFAULT_HEADER_SIZE, DEFAULT_HEADER_TIME, DEFAULT_IDLE_TIMEOUT,
                    DEFAULT_STREAMS_PER_CONNECTION, DEFAULT_CONNECTIONS_PER_SOURCE, DEFAULT_FLOWS_PER_DEVICE);
        }

        static Limits read(ConfigReader r) {
            return new Limits(
                    r.size("headerSize", DEFAULT_HEADER_SIZE, MIN_HEADER_SIZE, MAX_HEADER_SIZE),
                    r.duration("headerTime", DEFAULT_HEADER_TIME, MIN_HEADER_TIME, MAX_HEADER_TIME),
                    r.duration("idleTimeout", DEFAULT_IDLE_TIMEOUT, MIN_IDLE, MAX_IDLE),
                    r.integer("streamsPerConnection", DEFAULT_STREAMS_PER_CONNECTION, 1, MAX_STREAMS),
                    r.integer("connectionsPerSource", DEFAULT_CONNECTIONS_PER_SOURCE, 1, MAX_CONNECTIONS),
                    r.integer("flowsPerDevice", DEFAULT_FLOWS_PER_DEVICE, 1, MAX_FLOWS));
        }
    }

    /**
     * The audit trail.
     *
     * @param dir                {@code audit.dir}: where the trail's segments live; default {@code <dataDir>/audit/trail}
     * @param failMode           {@code audit.failMode}: {@code closed} refuses new sessions while the
     *                           trail cannot be written; {@code open} lets them in unrecorded
     * @param minFree            {@code audit.minFree}: treat the trail as unwritable below this free space
     * @param checkpointInterval {@code audit.checkpointInterval}: a signed checkpoint this often
     * @param siem               {@code audit.siem}: forwarding to a SIEM over syslog/TLS; null when not configured
     */
    public record Audit(Path dir, FailMode failMode, DataSize minFree, Duration checkpointInterval, @Nullable Siem siem) {

        /** {@code audit.dir} relative to {@code dataDir}. */
        public static final String DEFAULT_DIR = "audit/trail";
        public static final FailMode DEFAULT_FAIL_MODE = FailMode.CLOSED;
        public static final DataSize DEFAULT_MIN_FREE = DataSize.ofMiB(64);
        public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(60);
        static final DataSize MAX_MIN_FREE = DataSize.ofMiB(1024 * 1024);
        static final Duration MIN_CHECKPOINT_INTERVAL = Duration.ofSeconds(1);
        static final Duration MAX_CHECKPOINT_INTERVAL = Duration.ofHours(1);

        /** What happens when the trail cannot be written. */
        public enum FailMode { CLOSED, OPEN }

        public Audit {
            Objects.requireNonNull(dir, "audit.dir");
            Objects.requireNonNull(failMode, "audit.failMode");
            Objects.requireNonNull(minFree, "audit.minFree");
            if (minFree.compareTo(MAX_MIN_FREE) > 0) {
                throw new IllegalArgumentException("audit.minFree: expected a size between 0B and " + MAX_MIN_FREE
                        + ", found " + minFree);
            }
            checkDuration("audit.checkpointInterval", checkpointInterval, MIN_CHECKPOINT_INTERVAL,
                    MAX_CHECKPOINT_INTERVAL);
        }

        /** Without SIEM forwarding. */
        public Audit(Path dir, FailMode failMode, DataSize minFree, Duration checkpointInterval) {
            this(dir, failMode, minFree, checkpointInterval, null);
        }

        /** The defaults, with the trail under {@code dataDir}. */
        public static Audit defaults(Path dataDir) {
            return new Audit(dataDir.resolve(DEFAULT_DIR), DEFAULT_FAIL_MODE, DEFAULT_MIN_FREE,
                    DEFAULT_CHECKPOINT_INTERVAL);
        }

        static Audit read(ConfigReader r, Path defaultDir) {
            Path dir = r.path("dir");
            Path trail = dir != null ? dir : defaultDir;
            FailMode failMode = r.choice("failMode", FailMode.class, DEFAULT_FAIL_MODE);
            DataSize minFree = r.size("minFree", DEFAULT_MIN_FREE, DataSize.ofBytes(0), MAX_MIN_FREE);
            Duration checkpointInterval = r.duration("checkpointInterval", DEFAULT_CHECKPOINT_INTERVAL,
                    MIN_CHECKPOINT_INTERVAL, MAX_CHECKPOINT_INTERVAL);
            Siem siem = r.has("siem") ? r.section("siem", s -> Siem.read(s, trail)) : null;
            return new Audit(trail, failMode, minFree, checkpointInterval, siem);
        }
    }

    /**
     * Forwarding the audit trail to a SIEM: RFC 5424 messages over TLS with RFC 5425 octet-counting
     * framing (docs/audit.md). The trail itself is the spool; {@code cursor} remembers the last
     * record the collector confirmed.
     *
     * @param address           {@code audit.siem.address}: the collector, host:port (6514 is syslog over TLS)
     * @param ca                {@code audit.siem.ca}: PEM file of the CA certificate(s) the collector's certificate must chain to
     * @param clientCertificate {@code audit.siem.clientCertificate}: PEM certificate (chain) to present, optional
     * @param clientKey         {@code audit.siem.clientKey}: its unencrypted PKCS#8 PEM key (with clientCertificate)
     * @param appName           {@code audit.siem.appName}: APP-NAME of every message, default {@code postern}
     * @param facility          {@code audit.siem.facility}: syslog facility, default {@code authpriv}
     * @param cursor            {@code audit.siem.cursor}: where the last delivered {@code seq} is kept;
     *                          default {@code siem.cursor} beside the trail directory
     * @param allowTls12        {@code audit.siem.allowTls12}: also offer TLS 1.2 (AEAD suites) to an old collector
     */
    public record Siem(HostPort address, Path ca, @Nullable Path clientCertificate, @Nullable Path clientKey, String appName,
                       Facility facility, Path cursor, boolean allowTls12) {

        public static final String DEFAULT_APP_NAME = "postern";
        public static final Facility DEFAULT_FACILITY = Facility.AUTHPRIV;
        /** {@code audit.siem.cursor} beside {@code audit.dir}. */
        public static final String DEFAULT_CURSOR = "siem.cursor";
        static final Pattern APP_NAME = Pattern.compile("[!-~]{1,48}");
        static final String EXPECTED_APP_NAME = "1 to 48 printable ASCII characters without spaces, like postern";

        /** Syslog facilities (RFC 5424 table 1), by the names syslog daemons use. */
        public enum Facility {
            KERN(0), USER(1), MAIL(2), DAEMON(3), AUTH(4), SYSLOG(5), LPR(6), NEWS(7), UUCP(8), CRON(9),
            AUTHPRIV(10), FTP(11), NTP(12), AUDIT(13), ALERT(14), CLOCK(15),
            LOCAL0(16), LOCAL1(17), LOCAL2(18), LOCAL3(19), LOCAL4(20), LOCAL5(21), LOCAL6(22), LOCAL7(23);

            private final int code;

            Facility(int code) {
                this.code = code;
            }

            /** The numeric facility of the PRI. */
            public int code() {
                return code;
            }
        }

        public Siem {
            Objects.requireNonNull(address, "audit.siem.address");
            Objects.requireNonNull(ca, "audit.siem.ca");
            Objects.requireNonNull(appName, "audit.siem.appName");
            Objects.requireNonNull(facility, "audit.siem.facility");
            Objects.requireNonNull(cursor, "audit.siem.cursor");
            if ((clientCertificate == null) != (clientKey == null)) {
                throw new IllegalArgumentException("audit.siem: " + bothOrNeither(clientCertificate));
            }
            if (!APP_NAME.matcher(appName).matches()) {
                throw new IllegalArgumentException("audit.siem.appName: expected " + EXPECTED_APP_NAME
                        + ", found \"" + appName + "\"");
            }
        }

        static @Nullable Siem read(ConfigReader r, Path trail) {
            boolean hasAddress = r.has("address");
            boolean hasCa = r.has("ca");
            HostPort address = r.hostPort("address", null);
            if (!hasAddress) {
                r.report("address", "expected the collector as host:port like siem.example.org:6514, found nothing");
            }
            Path ca = r.path("ca");
            if (!hasCa) {
                r.report("ca", "expected the PEM file of the CA that issued the collector's certificate, found nothing");
            } else if (ca != null && !Files.isReadable(ca)) {
                r.report("ca", "expected a readable PEM file, found no readable file at " + ca);
            }
            Path cert = r.path("clientCertificate");
            Path key = r.path("clientKey");
            if ((cert == null) != (key == null)) {
                r.report(null, bothOrNeither(cert));
            }
            String appName = r.value("appName", DEFAULT_APP_NAME, EXPECTED_APP_NAME, s -> {
                if (!APP_NAME.matcher(s).matches()) {
                    throw new InvalidValueException(EXPECTED_APP_NAME, s);
                }
                return s;
            });
            Facility facility = r.choice("facility", Facility.class, DEFAULT_FACILITY);
            Path cursor = r.path("cursor");
            boolean allowTls12 = r.bool("allowTls12", false);
            if (address == null || ca == null || (cert == null) != (key == null)) {
                return null; // reported; the reader throws at the end
            }
            return new Siem(address, ca, cert, key, appName, facility,
                    cursor != null ? cursor : trail.toAbsolutePath().resolveSibling(DEFAULT_CURSOR), allowTls12);
        }

        private static String bothOrNeither(Path certificate) {
            return "expected both clientCertificate and clientKey, or neither, found only "
                    + (certificate != null ? "clientCertificate" : "clientKey");
        }
    }

    /**
     * The SSH bastion ({@code listeners.ssh}): forwarding only, for OpenSSH user certificates from
     * the Postern SSH user CA (docs/ssh.md).
     *
     * @param hostKey      {@code ssh.hostKey}: the bastion's host key (PKCS#8 PEM, ECDSA P-256),
     *                     created with mode 0600 on first start; default {@code <dataDir>/ssh/host.key}
     * @param banner       {@code ssh.banner}: text shown before authentication (the remote-work
     *                     charter), or null for none
     * @param authTimeout  {@code ssh.authTimeout}: a connection not authenticated by then is closed
     * @param maxAuthTries {@code ssh.maxAuthTries}: authentication requests per connection before it is closed
     */
    public record Ssh(Path hostKey, @Nullable String banner, Duration authTimeout, int maxAuthTries) {

        /** {@code ssh.hostKey} relative to {@code dataDir}. */
        public static final String DEFAULT_HOST_KEY = "ssh/host.key";
        public static final Duration DEFAULT_AUTH_TIMEOUT = Duration.ofSeconds(30);
        public static final int DEFAULT_MAX_AUTH_TRIES = 6;
        static final Duration MIN_AUTH_TIMEOUT = Duration.ofSeconds(5);
        static final Duration MAX_AUTH_TIMEOUT = Duration.ofMinutes(5);
        static final int MAX_AUTH_TRIES = 20;
        static final int MAX_BANNER = 8192;

        public Ssh {
            Objects.requireNonNull(hostKey, "ssh.hostKey");
            if (banner != null && (banner.length() > MAX_BANNER || banner.isBlank())) {
                throw new IllegalArgumentException("ssh.banner: " + bannerExpected(banner));
            }
            checkDuration("ssh.authTimeout", authTimeout, MIN_AUTH_TIMEOUT, MAX_AUTH_TIMEOUT);
            if (maxAuthTries < 1 || maxAuthTries > MAX_AUTH_TRIES) {
                throw new IllegalArgumentException("ssh.maxAuthTries: expected an integer between 1 and " + MAX_AUTH_TRIES
                        + ", found " + maxAuthTries);
            }
        }

        /** The defaults, with the host key under {@code dataDir}. */
        public static Ssh defaults(Path dataDir) {
            return new Ssh(dataDir.resolve(DEFAULT_HOST_KEY), null, DEFAULT_AUTH_TIMEOUT, DEFAULT_MAX_AUTH_TRIES);
        }

        static Ssh read(ConfigReader r, Path dataDir) {
            Path hostKey = r.path("hostKey");
            String banner = r.string("banner", null);
            if (banner != null && (banner.length() > MAX_BANNER || banner.isBlank())) {
                r.report("banner", bannerExpected(banner));
                banner = null;
            }
            return new Ssh(hostKey != null ? hostKey : dataDir.resolve(DEFAULT_HOST_KEY), banner,
                    r.duration("authTimeout", DEFAULT_AUTH_TIMEOUT, MIN_AUTH_TIMEOUT, MAX_AUTH_TIMEOUT),
                    r.integer("maxAuthTries", DEFAULT_MAX_AUTH_TRIES, 1, MAX_AUTH_TRIES));
        }

        private static String bannerExpected(String banner) {
            return "expected text of 1 to " + MAX_BANNER + " characters, found " + (banner.isBlank() ? "only blanks"
                    : banner.length() + " characters");
        }
    }

    private static void checkDuration(String key, Duration value, Duration min, Duration max) {
        Objects.requireNonNull(value, key);
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new IllegalArgumentException(key + ": expected a duration between " + Durations.format(min)
                    + " and " + Durations.format(max) + ", found " + Durations.format(value));
        }
    }

    private static void checkCount(String key, int value, int max) {
        if (value < 1 || value > max) {
            throw new IllegalArgumentException(key + ": expected an integer between 1 and " + max + ", found " + value);
        }
    }

    /**
     * The PKI settings the gateway's own CA endpoints (EST enrollment, CRL, OCSP) follow: the CRL
     * and OCSP URLs put in the certificates it issues, their lifetimes, token TTLs, request sizes.
     * One source of truth with {@code postern pki serve}: {@code pki.settings} names the same
     * {@code pki.yaml}. Without it, the pki.yaml defaults apply, with the URLs derived from the
     * tunnel listener, where the gateway serves {@code /pki/crl} and {@code /pki/ocsp} itself.
     *
     * @param file     {@code pki.settings}: the pki.yaml read, or {@code null} when none is named
     * @param settings what it says (its {@code server} section is not used by the gateway,
     *                 except to derive the URLs when the file does not set them)
     */
    public record Pki(@Nullable Path file, PkiSettings settings) {

        public Pki {
            Objects.requireNonNull(settings, "settings");
        }

        /** No pki.yaml: the defaults, with CRL and OCSP URLs on the tunnel listener. */
        public static Pki defaults(HostPort tunnel) {
            PkiSettings d = PkiSettings.defaults();
            return new Pki(null, new PkiSettings(d.ca(), d.certificates(), d.enrollment(), d.revocation(),
                    new PkiSettings.Server(tunnel, null, null)));
        }

        static @Nullable Pki read(ConfigReader r, HostPort tunnel) {
            Path file = r.path("settings");
            if (file == null) {
                return defaults(tunnel);
            }
            try {
                return new Pki(file, PkiSettings.load(file));
            } catch (ConfigException e) {
                for (String problem : e.problems()) {
                    r.report("settings", "expected valid PKI settings, found: " + problem);
                }
                return null;
            }
        }
    }

    /**
     * The VPN mode (docs/vpn.md): devices get an address from {@code pool} and send IP packets
     * through MASQUE CONNECT-IP, over HTTP/3 on {@code listen} (UDP) or HTTP/2 on the tunnel
     * listener. Off unless {@code vpn.enabled: true}; every flow passes the same gate as CONNECT.
     *
     * @param enabled            {@code vpn.enabled}: whether the gateway accepts VPN sessions
     * @param pool               {@code vpn.pool}: the IPv4 network device addresses come from, /8 to /30,
     *                           outside loopback, link-local, multicast and reserved space
     * @param pool6              {@code vpn.pool6}: an IPv6 prefix, /64 to /120, for IPv6 device addresses; null for none
     * @param dns                {@code vpn.dns}: resolvers pushed to devices for the internal zone; may be empty
     * @param searchDomains      {@code vpn.searchDomains}: DNS search domains pushed with them
     * @param listen             {@code vpn.listen}: UDP address of HTTP/3; default the tunnel listener's host and port
     * @param interfaceName      {@code vpn.interface}: the gateway's TUN device toward the admin network
     * @param nat                {@code vpn.nat}: false routes the pool into the admin network (it needs a
     *                           route back); true source-NATs flows to the gateway's egress address
     * @param fullTunnel         {@code vpn.fullTunnel}: whether a device may ask for a full tunnel
     *                           (its default route through the gateway); the rules still decide every flow
     * @param idleTimeouts       {@code vpn.idleTimeouts}: when a quiet flow is forgotten
     * @param maxFlowsPerSession {@code vpn.maxFlowsPerSession}: concurrent flows (5-tuples) per VPN session
     */
    public record Vpn(boolean enabled, Network pool, @Nullable Network pool6, List<InetAddress> dns,
                      List<String> searchDomains, HostPort listen, String interfaceName, boolean nat,
                      boolean fullTunnel, IdleTimeouts idleTimeouts, int maxFlowsPerSession) {

        public static final Network DEFAULT_POOL = Network.parse("100.64.0.0/16");
        public static final int DEFAULT_MAX_FLOWS_PER_SESSION = 1024;
        static final int MAX_FLOWS_PER_SESSION = 65_536;
        static final int MIN_POOL_PREFIX = 8;
        static final int MAX_POOL_PREFIX = 30;
        static final int MIN_POOL6_PREFIX = 64;
        static final int MAX_POOL6_PREFIX = 120;
        static final int MAX_DNS = 8;
        static final int MAX_SEARCH_DOMAINS = 16;
        static final String EXPECTED_POOL = "an IPv4 network between /" + MIN_POOL_PREFIX + " and /" + MAX_POOL_PREFIX
                + " like 100.64.0.0/16";
        static final String EXPECTED_POOL6 = "an IPv6 prefix between /" + MIN_POOL6_PREFIX + " and /" + MAX_POOL6_PREFIX
                + " like fd00:7057::/64";
        static final String EXPECTED_DNS = "a resolver's IP address like 10.20.0.53";
        static final String EXPECTED_DOMAIN = "a DNS domain like admin.internal";

        /** Where a device address must never come from: the host's own and shared special ranges. */
        private static final List<Reserved> RESERVED = List.of(
                new Reserved("0.0.0.0/8", "unspecified"), new Reserved("127.0.0.0/8", "loopback"),
                new Reserved("169.254.0.0/16", "link-local and cloud metadata"), new Reserved("224.0.0.0/4", "multicast"),
                new Reserved("240.0.0.0/4", "reserved and broadcast"), new Reserved("::/127", "unspecified and loopback"),
                new Reserved("fe80::/10", "link-local"), new Reserved("ff00::/8", "multicast"),
                new Reserved("fd00:ec2::/64", "cloud metadata"), new Reserved("64:ff9b::/96", "NAT64"),
                new Reserved("2002::/16", "6to4"), new Reserved("2001::/32", "Teredo"));

        /** A range no pool may overlap, as written in the problem, and what it is. */
        private record Reserved(String cidr, String kind) {
        }

        public Vpn {
            Objects.requireNonNull(pool, "vpn.pool");
            String p = poolProblem(pool);
            if (p != null) {
                throw new IllegalArgumentException("vpn.pool: expected " + p + ", found " + pool);
            }
            if (pool6 != null) {
                String p6 = pool6Problem(pool6);
                if (p6 != null) {
                    throw new IllegalArgumentException("vpn.pool6: expected " + p6 + ", found " + pool6);
                }
            }
            dns = List.copyOf(dns).stream().map(Network::normalize).toList();
            if (dns.size() > MAX_DNS) {
                throw new IllegalArgumentException("vpn.dns: expected at most " + MAX_DNS + " resolvers, found " + dns.size());
            }
            searchDomains = List.copyOf(searchDomains);
            if (searchDomains.size() > MAX_SEARCH_DOMAINS) {
                throw new IllegalArgumentException("vpn.searchDomains: expected at most " + MAX_SEARCH_DOMAINS
                        + " domains, found " + searchDomains.size());
            }
            for (String d : searchDomains) {
                if (!Destination.isHostName(Destination.canonicalName(d))) {
                    throw new IllegalArgumentException("vpn.searchDomains: expected " + EXPECTED_DOMAIN + ", found \"" + d + "\"");
                }
            }
            Objects.requireNonNull(listen, "vpn.listen");
            Objects.requireNonNull(interfaceName, "vpn.interface");
            if (!InterfaceName.isValid(interfaceName)) {
                throw new IllegalArgumentException("vpn.interface: expected " + InterfaceName.EXPECTED + ", found \""
                        + interfaceName + "\"");
            }
            Objects.requireNonNull(idleTimeouts, "vpn.idleTimeouts");
            if (maxFlowsPerSession < 1 || maxFlowsPerSession > MAX_FLOWS_PER_SESSION) {
                throw new IllegalArgumentException("vpn.maxFlowsPerSession: expected an integer between 1 and "
                        + MAX_FLOWS_PER_SESSION + ", found " + maxFlowsPerSession);
            }
        }

        /** VPN off, every other setting at its default, HTTP/3 on the tunnel listener's address. */
        public static Vpn disabled(HostPort tunnel) {
            return new Vpn(false, DEFAULT_POOL, null, List.of(), List.of(), tunnel, InterfaceName.DEFAULT, false, false,
                    IdleTimeouts.defaults(), DEFAULT_MAX_FLOWS_PER_SESSION);
        }

        /** Whether {@code address} is in {@code pool} or {@code pool6}: a device's address, never a destination. */
        public boolean inPool(InetAddress address) {
            return pool.contains(address) || (pool6 != null && pool6.contains(address));
        }

        /** What {@code pool} should have been as the IPv4 pool ("expected" half of the problem), or null when it is fine. */
        static @Nullable String poolProblem(Network pool) {
            if (pool.address().getAddress().length != 4 || pool.prefixLength() < MIN_POOL_PREFIX
                    || pool.prefixLength() > MAX_POOL_PREFIX) {
                return EXPECTED_POOL;
            }
            return reservedProblem(pool);
        }

        /** What {@code pool6} should have been as the IPv6 pool, or null when it is fine. */
        static @Nullable String pool6Problem(Network pool6) {
            if (pool6.address().getAddress().length != 16 || pool6.prefixLength() < MIN_POOL6_PREFIX
                    || pool6.prefixLength() > MAX_POOL6_PREFIX) {
                return EXPECTED_POOL6;
            }
            return reservedProblem(pool6);
        }

        private static @Nullable String reservedProblem(Network pool) {
            for (Reserved reserved : RESERVED) {
                Network r = Network.parse(reserved.cidr());
                if (r.contains(pool) || pool.contains(r)) {
                    return "a network outside " + reserved.cidr() + " (" + reserved.kind() + ")";
                }
            }
            return null;
        }

        static Vpn read(ConfigReader r, HostPort tunnel) {
            boolean enabled = r.bool("enabled", false);
            Network pool = r.value("pool", DEFAULT_POOL, EXPECTED_POOL, s -> network(s, EXPECTED_POOL, Vpn::poolProblem));
            Network pool6 = r.value("pool6", null, EXPECTED_POOL6, s -> network(s, EXPECTED_POOL6, Vpn::pool6Problem));
            List<InetAddress> dns = new ArrayList<>();
            List<String> dnsText = r.stringList("dns", List.of());
            for (int i = 0; i < dnsText.size(); i++) {
                InetAddress a = Network.parseAddress(dnsText.get(i));
                if (a == null) {
                    r.report("dns[" + i + "]", "expected " + EXPECTED_DNS + ", found \"" + dnsText.get(i) + "\"");
                } else {
                    dns.add(a);
                }
            }
            if (dns.size() > MAX_DNS) {
                r.report("dns", "expected at most " + MAX_DNS + " resolvers, found " + dns.size());
                dns = dns.subList(0, MAX_DNS);
            }
            List<String> domains = new ArrayList<>();
            List<String> domainText = r.stringList("searchDomains", List.of());
            for (int i = 0; i < domainText.size(); i++) {
                String d = Destination.canonicalName(domainText.get(i));
                if (!Destination.isHostName(d)) {
                    r.report("searchDomains[" + i + "]", "expected " + EXPECTED_DOMAIN + ", found \""
                            + domainText.get(i) + "\"");
                } else {
                    domains.add(d);
                }
            }
            if (domains.size() > MAX_SEARCH_DOMAINS) {
                r.report("searchDomains", "expected at most " + MAX_SEARCH_DOMAINS + " domains, found " + domains.size());
                domains = domains.subList(0, MAX_SEARCH_DOMAINS);
            }
            HostPort listen = r.hostPort("listen", tunnel);
            String interfaceName = InterfaceName.read(r, "interface");
            boolean nat = r.bool("nat", false);
            boolean fullTunnel = r.bool("fullTunnel", false);
            IdleTimeouts idle = r.section("idleTimeouts", IdleTimeouts::read);
            int maxFlows = r.integer("maxFlowsPerSession", DEFAULT_MAX_FLOWS_PER_SESSION, 1, MAX_FLOWS_PER_SESSION);
            return new Vpn(enabled, pool, pool6, dns, domains, listen, interfaceName, nat, fullTunnel,
                    idle != null ? idle : IdleTimeouts.defaults(), maxFlows);
        }

        private static Network network(String s, String expected,
                                       java.util.function.Function<Network, @Nullable String> problem) {
            Network n;
            try {
                n = Network.parse(s);
            } catch (IllegalArgumentException e) {
                throw new InvalidValueException(expected, s);
            }
            String p = problem.apply(n);
            if (p != null) {
                throw new InvalidValueException(p, s);
            }
            return n;
        }

        /**
         * How long a flow may stay quiet before the gateway forgets it (and a new packet must pass
         * the gate again). A closing TCP flow (FIN or RST seen) goes sooner.
         *
         * @param tcp        {@code vpn.idleTimeouts.tcp}: an established TCP flow
         * @param tcpClosing {@code vpn.idleTimeouts.tcpClosing}: a TCP flow after FIN or RST
         * @param udp        {@code vpn.idleTimeouts.udp}: a UDP flow
         * @param icmp       {@code vpn.idleTimeouts.icmp}: an ICMP echo flow
         */
        public record IdleTimeouts(Duration tcp, Duration tcpClosing, Duration udp, Duration icmp) {

            public static final Duration DEFAULT_TCP = Duration.ofHours(1);
            public static final Duration DEFAULT_TCP_CLOSING = Duration.ofSeconds(10);
            public static final Duration DEFAULT_UDP = Duration.ofSeconds(60);
            public static final Duration DEFAULT_ICMP = Duration.ofSeconds(30);
            static final Duration MIN = Duration.ofSeconds(1);
            static final Duration MAX_TCP = Duration.ofHours(24);
            static final Duration MAX_SHORT = Duration.ofHours(1);

            public IdleTimeouts {
                checkDuration("vpn.idleTimeouts.tcp", tcp, MIN, MAX_TCP);
                checkDuration("vpn.idleTimeouts.tcpClosing", tcpClosing, MIN, MAX_SHORT);
                checkDuration("vpn.idleTimeouts.udp", udp, MIN, MAX_SHORT);
                checkDuration("vpn.idleTimeouts.icmp", icmp, MIN, MAX_SHORT);
            }

            public static IdleTimeouts defaults() {
                return new IdleTimeouts(DEFAULT_TCP, DEFAULT_TCP_CLOSING, DEFAULT_UDP, DEFAULT_ICMP);
            }

            static IdleTimeouts read(ConfigReader r) {
                return new IdleTimeouts(r.duration("tcp", DEFAULT_TCP, MIN, MAX_TCP),
                        r.duration("tcpClosing", DEFAULT_TCP_CLOSING, MIN, MAX_SHORT),
                        r.duration("udp", DEFAULT_UDP, MIN, MAX_SHORT),
                        r.duration("icmp", DEFAULT_ICMP, MIN, MAX_SHORT));
            }
        }
    }
}
