package org.postern.pki.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.postern.config.RegistrySettings;
import org.postern.config.Secret;

/**
 * A real PostgreSQL server for tests: Debian's binaries ({@code /usr/lib/postgresql/<newest>/bin}),
 * {@code initdb} into a fresh directory and {@code pg_ctl start} on a free loopback port, its unix
 * socket in that directory (never the system's {@code /var/run/postgresql}). A database and a
 * login role with a random password (SCRAM over TCP) are made for the test; {@link #url()},
 * {@link #user()} and {@link #password()} are what {@code registry:} in a YAML file takes.
 *
 * <p>{@code initdb} refuses to run as root, and the tests run as root here and in CI: then the
 * server's directory is made in the system temporary directory (a JUnit {@code @TempDir} is 0700
 * root's and the server's user could not reach it), given to the {@code postgres} user, and every
 * tool runs through {@code runuser -u postgres --}. Missing binaries fail the test with the package
 * to install; the test never skips.
 *
 * <p>{@link #stop()} and {@link #restart()} let a test take the database away and bring it back on
 * the same port with the same data, as an operator's restart would.
 *
 * <p>{@link #startTls} serves TLS ({@code ssl=on}) with a given certificate chain and key, and its
 * {@code pg_hba.conf} admits TCP logins over TLS only ({@code hostssl}), so a connection that
 * works is one that used TLS.
 */
public final class TestPostgres implements AutoCloseable {
    private static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");
    private static final String DATABASE = "postern";
    private static final String USER = "postern";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final Path bin;
    private final Path home;
    private final boolean ownHome;
    private final boolean asRoot;
    private final int port;
    private final String password;
    private final Thread reaper;
    private final @Nullable ServerTls tls;
    private boolean running;

    /** The server's certificate (PEM, followed by its intermediates) and its private key (PEM). */
    public record ServerTls(String certificateChainPem, String privateKeyPem) {
    }

    private TestPostgres(Path bin, Path home, boolean ownHome, boolean asRoot, int port, String password, @Nullable ServerTls tls) {
        this.tls = tls;
        this.bin = bin;
        this.home = home;
        this.ownHome = ownHome;
        this.asRoot = asRoot;
        this.port = port;
        this.password = password;
        // a JVM that dies in a test must not leave a server behind
        this.reaper = new Thread(() -> pgCtl("stop", "-m", "immediate"), "test-postgres-reaper");
    }

    /**
     * Initializes and starts a server. {@code dir} holds the server's directory when the tests do
     * not run as root (else a fresh directory under {@code java.io.tmpdir}, removed by {@link #close()}).
     */
    public static TestPostgres start(Path dir) {
        return start(dir, null);
    }

    /** As {@link #start(Path)}, serving TLS with {@code tls} and refusing TCP logins without it. */
    public static TestPostgres startTls(Path dir, ServerTls tls) {
        return start(dir, Objects.requireNonNull(tls, "tls"));
    }

    private static TestPostgres start(Path dir, @Nullable ServerTls tls) {
        Path bin = binaries();
        boolean root = isRoot();
        try {
            Files.createDirectories(dir); // the tools' output files go there
            Path home = root ? Files.createTempDirectory("postern-pg-") : Files.createDirectories(dir.resolve("postgres"));
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
            String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
            TestPostgres pg = new TestPostgres(bin, home, root, root, freePort(), password, tls);
            if (root) {
                Proc.run(dir, TIMEOUT, "chown", "postgres:postgres", home.toString()).ok();
            }
            pg.initialize();
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the PostgreSQL directory for the test", e);
        }
    }

    /** {@code postgresql://127.0.0.1:PORT/postern}: the value of {@code registry.url}. */
    public String url() {
        return "postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    public String user() {
        return USER;
    }

    public String password() {
        return password;
    }

    public int port() {
        return port;
    }

    /** This server's database and login, as {@code registry.url}, {@code registry.user} and the password give them. */
    public RegistrySettings.Postgres database() {
        return new RegistrySettings.Postgres("127.0.0.1", port, DATABASE, USER, Secret.of(password), null, false);
    }

    /** This server's database and login, reached over TLS verified against {@code tlsCa} ({@code registry.tlsCa}). */
    public RegistrySettings.Postgres database(Path tlsCa) {
        return new RegistrySettings.Postgres("127.0.0.1", port, DATABASE, USER, Secret.of(password), tlsCa, false);
    }

    /** A {@code registry:} section naming this server, with {@code maxStale} and a pool of 4. */
    public RegistrySettings registrySettings(Duration maxStale) {
        return new RegistrySettings(database(), maxStale, 4);
    }

    /** The server's log, for a failure message. */
    public Path log() {
        return home.resolve("server.log");
    }

    /** Stops the server ({@code pg_ctl stop -m fast}: open connections are cut, as in a crash seen from a client). */
    public void stop() {
        if (running) {
            run(pgCtlCommand("stop", "-m", "fast", "-w")).ok();
            running = false;
        }
    }

    /** Starts the stopped server again on the same port with the same data. */
    public void restart() {
        stop();
        serverStart();
    }

    @Override
    public void close() {
        try {
            stop();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down: the hook runs anyway
            }
            if (ownHome) {
                deleteTree(home);
            }
        }
    }

    @Override
    public String toString() {
        return "TestPostgres[" + url() + ", " + home + "]";
    }

    private void initialize() throws IOException {
        Path pwfile = home.resolve("superuser.pw");
        run(List.of("sh", "-c", "umask 077 && printf '%s\\n' \"$1\" > \"$2\"", "sh", password, pwfile.toString())).ok();
        run(List.of(bin.resolve("initdb").toString(), "-D", data().toString(), "-U", "postgres", "--pwfile=" + pwfile,
                "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C")).ok();
        if (tls != null) {
            writeServerTls(tls);
        }
        Runtime.getRuntime().addShutdownHook(reaper);
        serverStart();
        psql("CREATE ROLE " + USER + " LOGIN PASSWORD '" + password + "'");
        psql("CREATE DATABASE " + DATABASE + " OWNER " + USER);
    }

    /**
     * The certificate and key beside the data (the server's user owns them, the key 0600, as
     * PostgreSQL insists), and a {@code pg_hba.conf} with {@code hostssl} lines only.
     */
    private void writeServerTls(ServerTls tls) throws IOException {
        Path cert = home.resolve("server.crt");
        Path key = home.resolve("server.key");
        Files.writeString(cert, tls.certificateChainPem(), StandardCharsets.US_ASCII);
        Files.writeString(key, tls.privateKeyPem(), StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(data().resolve("pg_hba.conf"), """
                local   all all              trust
                hostssl all all 127.0.0.1/32 scram-sha-256
                """, StandardCharsets.US_ASCII);
        if (asRoot) {
            Proc.run(home, TIMEOUT, "chown", "postgres:postgres", cert.toString(), key.toString(),
                    data().resolve("pg_hba.conf").toString()).ok();
        }
    }

    private void serverStart() {
        String ssl = tls == null ? "" : " -c ssl=on -c ssl_cert_file=" + home.resolve("server.crt")
                + " -c ssl_key_file=" + home.resolve("server.key");
        Proc.Result r = run(pgCtlCommand("start", "-w", "-t", "30", "-l", log().toString(), "-o",
                "-p " + port + " -k " + home + " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" + ssl));
        if (r.exit() != 0) {
            throw new AssertionError("PostgreSQL did not start on port " + port + ": " + r.all() + "\n--- server log ---\n" + readLog());
        }
        running = true;
    }

    /**
     * Whether a session of {@link #user()} is LISTENing (its last statement a {@code LISTEN}): a
     * test waits for this before a change whose notification it expects, instead of sleeping.
     */
    public boolean hasListener() {
        try (Connection c = DriverManager.getConnection("jdbc:" + url(), USER, password); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1) > 0;
        } catch (SQLException e) {
            throw new AssertionError("cannot ask " + url() + " for its listeners: " + e.getMessage(), e);
        }
    }

    /** Runs SQL as the superuser over the unix socket. */
    public void psql(String sql) {
        run(List.of(bin.resolve("psql").toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", home.toString(), "-p",
                Integer.toString(port), "-U", "postgres", "-d", "postgres", "-c", sql)).ok();
    }

    private void pgCtl(String... args) {
        run(pgCtlCommand(args));
    }

    private List<String> pgCtlCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(bin.resolve("pg_ctl").toString(), "-D", data().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private Path data() {
        return home.resolve("data");
    }

    private Proc.Result run(List<String> command) {
        List<String> cmd = new ArrayList<>();
        if (asRoot) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(command);
        return Proc.run(home, TIMEOUT, cmd.toArray(String[]::new));
    }

    private String readLog() {
        try {
            return Files.readString(log());
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** The newest Debian PostgreSQL whose {@code initdb} is there. */
    static Path binaries() {
        try (Stream<Path> versions = Files.isDirectory(DEBIAN_ROOT) ? Files.list(DEBIAN_ROOT) : Stream.empty()) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparingInt(TestPostgres::majorVersion))
                    .orElseThrow(() -> new AssertionError("no PostgreSQL server binaries in " + DEBIAN_ROOT
                            + "/*/bin: install Debian package postgresql (the registry tests never skip without it)"));
        } catch (IOException e) {
            throw new AssertionError("cannot list " + DEBIAN_ROOT + ": " + e.getMessage(), e);
        }
    }

    private static int majorVersion(Path bin) {
        try {
            return Integer.parseInt(bin.getParent().getFileName().toString());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException e) {
            throw new AssertionError("cannot tell which user runs the tests: " + e.getMessage(), e);
        }
    }

    private static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + root, e);
        }
    }
}
