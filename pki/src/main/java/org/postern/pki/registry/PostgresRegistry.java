package org.postern.pki.registry;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.postern.config.RegistrySettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry in a PostgreSQL database that several gateways and the {@code postern pki} CLI
 * share ({@code registry.url: postgresql://HOST:PORT/DB}).
 *
 * <p><b>Transactions.</b> Every mutation is one {@code SERIALIZABLE} transaction, retried from the
 * start when PostgreSQL reports a serialization failure or a deadlock. The rules are the ones
 * SQLite runs ({@link JdbcRegistry}): each reads, checks and writes, and serializable isolation makes
 * that as safe across processes as SQLite's single writer. Two gateways completing the same
 * enrollment token at once: the second waits on the token's row, fails to serialize, runs again,
 * finds the token used and is refused with {@code token.used}.
 *
 * <p><b>Changes.</b> Each transaction that changes what a revocation view holds (a revocation,
 * suspension, resumption or renewal) also bumps the {@code changes} counter and sends
 * {@code NOTIFY postern_registry}; both take effect at commit. Other writes
 * ({@link #writeBookkeeping}: enrollments, new devices and tokens) touch neither, so they do not
 * all serialize on the counter's row nor make every gateway reload. {@link #changeCount()} reads the
 * counter (a gateway polls it as a fallback), {@link #onChange} listens for the notification on a
 * connection of its own, so a revocation made through any gateway or the CLI reaches every
 * gateway in milliseconds.
 *
 * <p><b>TLS.</b> With {@code registry.tlsCa} every connection, the pool's and the listener's,
 * verifies the server's certificate and host name ({@link #driverProperties}); the settings refuse
 * a non-loopback database without it unless {@code registry.unsafePlaintext}.
 *
 * <p><b>Failures.</b> A server that cannot be reached (connection refused, cut, shutting down, the
 * pool waiting longer than {@link #CONNECT_TIMEOUT}) is {@code registry.unavailable}, as any other
 * database error is; refusals keep their own codes. The pool reconnects by itself when the server
 * is back.
 */
public final class PostgresRegistry extends JdbcRegistry {
    /** The notification channel of a committed change. */
    static final String CHANNEL = "postern_registry";
    /** How long a caller waits for a connection: a gateway's revocation poll must not hang for long. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(10);
    /** Any number, the same in every process: the lock under which a process migrates the schema. */
    private static final long MIGRATION_LOCK = 0x506f737465726e31L; // "Postern1"
    private static final int MAX_ATTEMPTS = 50;
    private static final Logger log = LoggerFactory.getLogger(PostgresRegistry.class);

    private final String url;
    private final @Nullable Path tlsCa;
    private final HikariDataSource pool;
    private final ChangeListener listener;
    private volatile boolean closed;

    private PostgresRegistry(String url, @Nullable Path tlsCa, HikariDataSource pool, ChangeListener listener) {
        this.url = url;
        this.tlsCa = tlsCa;
        this.pool = pool;
        this.listener = listener;
    }

    /**
     * Connects ({@code poolSize} connections at most) and migrates the database to the current
     * schema. {@code registry.too_new} if a newer Postern wrote it, {@code registry.unavailable}
     * if it cannot be reached or the login is refused.
     */
    public static PostgresRegistry open(RegistrySettings.Postgres database, int poolSize, Clock clock) {
        return open(database, poolSize, clock, SchemaMigrations.POSTGRES_SCRIPTS);
    }

    static PostgresRegistry open(RegistrySettings.Postgres database, int poolSize, Clock clock, List<String> migrations) {
        String jdbcUrl = "jdbc:" + database.url();
        Properties driver = driverProperties(database);
        HikariConfig config = new HikariConfig();
        config.setPoolName("registry");
        config.setJdbcUrl(jdbcUrl);
        config.setDataSourceProperties(driver);
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(Math.min(2, poolSize));
        config.setConnectionTimeout(CONNECT_TIMEOUT.toMillis());
        // open even when the server is down at this instant: the migration below says so precisely
        config.setInitializationFailTimeout(-1);
        HikariDataSource pool = new HikariDataSource(config);
        PostgresRegistry registry = new PostgresRegistry(database.url(), database.tlsCa(), pool,
                new ChangeListener(database.url(), jdbcUrl, driver));
        try {
            // READ COMMITTED, not SERIALIZABLE: a serializable snapshot is taken at the first
            // statement, the lock, before its wait; a process that waited would then read the schema
            // version from before the other's migration and run it again. Here each statement after
            // the lock sees what the process that held it committed.
            int from = registry.transaction("migrate", Connection.TRANSACTION_READ_COMMITTED, c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                    ps.setLong(1, MIGRATION_LOCK);
                    ps.execute();
                }
                return SchemaMigrations.migrate(c, migrations, SchemaMigrations.POSTGRES_VERSION_TABLE, database.url(), clock.millis());
            });
            if (from < migrations.size()) {
                log.info("registry {} migrated from schema version {} to {}", database.url(), from, migrations.size());
            }
            return registry;
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
    }

    /**
     * The driver's settings, for the pool and the listening connection alike: credentials, TLS, and
     * timeouts so a dead server is an error, not a hang. With {@code registry.tlsCa} the server's
     * certificate must chain to it and name the host ({@code verify-full}); without (loopback, or
     * {@code registry.unsafePlaintext}) the driver's {@code prefer}: TLS if the server offers it,
     * unverified.
     */
    static Properties driverProperties(RegistrySettings.Postgres database) {
        Properties p = new Properties();
        if (database.tlsCa() != null) {
            p.setProperty("sslmode", "verify-full");
            p.setProperty("sslrootcert", database.tlsCa().toString());
        } else {
            p.setProperty("sslmode", "prefer");
        }
        p.setProperty("user", database.user());
        p.setProperty("password", database.password().reveal());
        p.setProperty("connectTimeout", Long.toString(CONNECT_TIMEOUT.toSeconds()));
        // a server that stops answering (a cut without a reset) fails a query after this, not hours later
        p.setProperty("socketTimeout", Long.toString(SOCKET_TIMEOUT.toSeconds()));
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "postern");
        return p;
    }

    /**
     * Calls {@code wake} (on the listener's thread; keep it short) after another connection, in
     * this or any process, committed a change, and once after the listening connection was
     * re-established (changes may have been missed while it was down).
     */
    @Override
    public AutoCloseable onChange(Runnable wake) {
        return listener.add(wake);
    }

    /** The {@code changes} counter: one primary-key read. */
    @Override
    public long changeCount() {
        return read("read the change count", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT value FROM counters WHERE name = 'changes'")) {
                if (!rs.next()) {
                    throw new SQLException("counter changes missing");
                }
                return rs.getLong(1);
            }
        });
    }

    @Override
    PreparedStatement statement(Connection c, String sql) throws SQLException {
        return c.prepareStatement(sql);
    }

    @Override
    boolean keepsStatements() {
        return false;
    }

    @Override
    <T extends @Nullable Object> T write(String what, SqlWork<T> work) {
        return transaction(what, Connection.TRANSACTION_SERIALIZABLE, c -> {
            T result = work.run(c);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("UPDATE counters SET value = value + 1 WHERE name = 'changes'");
                st.execute("NOTIFY " + CHANNEL);
            }
            return result;
        });
    }

    @Override
    <T extends @Nullable Object> T writeBookkeeping(String what, SqlWork<T> work) {
        return transaction(what, Connection.TRANSACTION_SERIALIZABLE, work);
    }

    @Override
    <T extends @Nullable Object> T read(String what, SqlWork<T> work) {
        ensureOpen();
        try (Connection c = pool.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw unavailable(what, e);
        }
    }

    /** One transaction ({@code SERIALIZABLE} but for the migration), run again from the start when it loses a race. */
    private <T extends @Nullable Object> T transaction(String what, int isolation, SqlWork<T> work) {
        ensureOpen();
        SQLException last = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            try (Connection c = pool.getConnection()) {
                c.setAutoCommit(false);
                c.setTransactionIsolation(isolation);
                boolean committed = false;
                try {
                    T result = work.run(c);
                    c.commit();
                    committed = true;
                    return result;
                } finally {
                    if (!committed) {
                        rollbackQuietly(c, what);
                    }
                }
            } catch (SQLException e) {
                if (!retryable(e)) {
                    throw unavailable(what, e);
                }
                last = e;
                backOff(attempt);
            }
        }
        throw new RegistryException("registry.unavailable", "registry " + url + ": could not " + what + " in "
                + MAX_ATTEMPTS + " attempts, each lost to a concurrent transaction: " + last.getMessage(), last);
    }

    /** Serialization failure or deadlock: PostgreSQL asks the client to run the transaction again. */
    private static boolean retryable(SQLException e) {
        return "40001".equals(e.getSQLState()) || "40P01".equals(e.getSQLState());
    }

    private static void backOff(int attempt) {
        try {
            Thread.sleep(ThreadLocalRandom.current().nextInt(1, 2 + Math.min(attempt, 20)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("registry.unavailable", "interrupted while retrying a registry transaction", e);
        }
    }

    private void rollbackQuietly(Connection c, String what) {
        try {
            c.rollback();
        } catch (SQLException e) {
            log.debug("registry {}: rollback after failed '{}' failed: {}", url, what, e.getMessage());
        }
    }

    @Override
    String emptyDer() {
        return "''::bytea";
    }

    private void ensureOpen() {
        if (closed) {
            throw new RegistryException("registry.unavailable", "registry " + url + " is closed");
        }
    }

    private RegistryException unavailable(String what, SQLException e) {
        // the pool's timeout carries the driver's last failure to connect as its cause
        SQLException reason = e instanceof SQLTransientConnectionException && e.getCause() instanceof SQLException c ? c : e;
        String state = reason.getSQLState() == null ? "" : reason.getSQLState();
        String why;
        if (state.startsWith("28")) {
            why = "PostgreSQL refused the login";
        } else if (causedBy(reason, SSLException.class)) {
            why = tlsCa == null ? "TLS to PostgreSQL failed"
                    : "TLS to PostgreSQL failed (is its certificate for the host and signed by a CA in registry.tlsCa " + tlsCa + "?)";
        } else if (reason instanceof SQLTransientConnectionException || state.startsWith("08") || state.startsWith("57P")) {
            why = "cannot reach PostgreSQL";
        } else {
            why = "PostgreSQL error " + state;
        }
        return new RegistryException("registry.unavailable", "registry " + url + ": cannot " + what + ": " + why + ": "
                + reason.getMessage(), e);
    }

    private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        listener.close();
        pool.close();
    }

    @Override
    public String toString() {
        return "PostgresRegistry[" + url + "]";
    }
}
