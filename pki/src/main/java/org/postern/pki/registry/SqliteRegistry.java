package org.postern.pki.registry;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.postern.io.GroupSync;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The registry in one SQLite file, {@code registry.db}, in the data directory.
 *
 * <p><b>Connections.</b> One writer connection behind a lock, plus a small fixed pool of reader
 * connections. Writers must serialize anyway: SQLite allows one writer per file, and every
 * mutation starts with {@code BEGIN IMMEDIATE}, which takes the file's write lock up front (so two
 * processes never deadlock upgrading a read to a write) and waits up to the busy timeout for a CLI
 * process that holds it. Readers get their own connections because in WAL mode they never wait
 * for a writer: an OCSP lookup ({@link #status}, one primary-key lookup, microseconds) keeps
 * answering while the writer waits for another process's lock. A JDBC connection is not shared
 * between threads at once, so each read borrows one from the pool and returns it.
 *
 * <p><b>Durability.</b> A CA must not forget a certificate it issued, even on power loss, so no
 * write returns before the WAL holding it is on disk. SQLite's {@code synchronous=FULL} would
 * fsync inside every commit while holding the write lock, which caps issuance at one fsync per
 * certificate. Instead commits run with {@code synchronous=NORMAL} (WAL frames written, not yet
 * synced; checkpoints still sync) and the writer, after releasing the lock, waits for a shared
 * fsync of {@code registry.db-wal} ({@link GroupSync}): concurrent enrollments share one fsync,
 * and each still returns only once its own commit is durable.
 *
 * <p><b>Statements.</b> Each connection keeps its prepared statements, one per SQL text (a fixed
 * set: the registry's own constants), so a statement is compiled once per connection, not once
 * per call. Closing a query's result set resets its statement, which ends the statement's read:
 * a kept statement never pins a reader to an old snapshot.
 */
public final class SqliteRegistry extends JdbcRegistry {
    static final String FILE_NAME = "registry.db";
    static final Duration DEFAULT_BUSY_TIMEOUT = Duration.ofSeconds(10);
    private static final int READERS = 4;
    private static final Logger log = LoggerFactory.getLogger(SqliteRegistry.class);

    private final Path file;
    private final Duration busyTimeout;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Connection writer;
    private final BlockingQueue<Connection> readers = new ArrayBlockingQueue<>(READERS);
    /** Answers {@link #changeCount}: {@code PRAGMA data_version} counts per connection, so it has its own. */
    private final ReentrantLock watchLock = new ReentrantLock();
    private Connection watch;
    private volatile boolean closed;
    private final GroupSync walSync;
    /** Each connection's kept statements; a connection serves one thread at a time (lock or pool), so the inner maps need no lock. */
    private final Map<Connection, Map<String, PreparedStatement>> statements = new ConcurrentHashMap<>();

    private SqliteRegistry(Path file, Duration busyTimeout, Connection writer) {
        this.file = file;
        this.busyTimeout = busyTimeout;
        this.writer = writer;
        this.walSync = new GroupSync(this::forceWal);
    }

    /**
     * Opens (creating if needed, with mode 0600) {@code dataDir/registry.db} and migrates it to
     * the current schema. {@code registry.too_new} if a newer Postern wrote it,
     * {@code registry.unavailable} if it cannot be opened.
     */
    public static SqliteRegistry open(Path dataDir, Clock clock) {
        return open(dataDir, clock, DEFAULT_BUSY_TIMEOUT, SchemaMigrations.SCRIPTS);
    }

    static SqliteRegistry open(Path dataDir, Clock clock, Duration busyTimeout, List<String> migrations) {
        Path file = dataDir.resolve(FILE_NAME);
        createPrivately(dataDir, file);
        Connection writer = connect(file, busyTimeout);
        SqliteRegistry registry = new SqliteRegistry(file, busyTimeout, writer);
        try {
            try (Statement st = writer.createStatement(); ResultSet rs = st.executeQuery("PRAGMA journal_mode=WAL")) {
                String mode = rs.getString(1);
                if (!"wal".equalsIgnoreCase(mode)) {
                    throw new RegistryException("registry.unavailable", file + ": expected journal_mode wal, found " + mode
                            + " (is the data directory on a network file system?)");
                }
            }
            int from = registry.write("migrate", c -> SchemaMigrations.migrate(c, migrations, SchemaMigrations.SQLITE_VERSION_TABLE, FILE_NAME, clock.millis()));
            if (from < migrations.size()) {
                log.info("registry {} migrated from schema version {} to {}", file, from, migrations.size());
            }
            for (int i = 0; i < READERS; i++) {
                Connection reader = connect(file, busyTimeout);
                registry.readers.add(reader);
                try (Statement st = reader.createStatement()) {
                    st.execute("PRAGMA query_only=ON");
                }
            }
            registry.watch = connect(file, busyTimeout);
            try (Statement st = registry.watch.createStatement()) {
                st.execute("PRAGMA query_only=ON");
            }
            return registry;
        } catch (SQLException e) {
            registry.close();
            throw registry.unavailable("open", e);
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
    }

    private static void createPrivately(Path dataDir, Path file) {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        try {
            if (!Files.isDirectory(dataDir)) {
                Files.createDirectories(dataDir, posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))} : new FileAttribute<?>[0]);
            }
            if (!Files.exists(file)) {
                // SQLite gives the -wal and -shm files the mode of the database file.
                Files.createFile(file, posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))} : new FileAttribute<?>[0]);
            }
        } catch (FileAlreadyExistsException e) {
            // another process created it first, with the same mode
        } catch (IOException e) {
            throw new RegistryException("registry.unavailable", "registry " + file + ": cannot create: " + e, e);
        }
    }

    private static Connection connect(Path file, Duration busyTimeout) {
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout((int) busyTimeout.toMillis());
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.enforceForeignKeys(true);
        try {
            return config.createConnection("jdbc:sqlite:" + file);
        } catch (SQLException e) {
            throw new RegistryException("registry.unavailable", "registry " + file + ": cannot open: " + e.getMessage(), e);
        }
    }

    /**
     * {@code PRAGMA data_version} on a connection that never writes: SQLite changes it whenever
     * another connection, in this process (the writer) or another ({@code postern pki} CLI),
     * commits. It reads the WAL index only, microseconds.
     */
    @Override
    public long changeCount() {
        watchLock.lock();
        try {
            ensureOpen();
            try (Statement st = watch.createStatement(); ResultSet rs = st.executeQuery("PRAGMA data_version")) {
                return rs.getLong(1);
            } catch (SQLException e) {
                throw unavailable("read data_version", e);
            }
        } finally {
            watchLock.unlock();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        writeLock.lock();
        try {
            closeQuietly(writer);
        } finally {
            writeLock.unlock();
        }
        Connection c;
        while ((c = readers.poll()) != null) {
            closeQuietly(c);
        }
        watchLock.lock();
        try {
            if (watch != null) {
                closeQuietly(watch);
            }
        } finally {
            watchLock.unlock();
        }
    }

    @Override
    String emptyDer() {
        return "X''";
    }

    @Override
    public String toString() {
        return "SqliteRegistry[" + file + "]";
    }

    @Override
    PreparedStatement statement(Connection c, String sql) throws SQLException {
        Map<String, PreparedStatement> kept = statements.computeIfAbsent(c, k -> new HashMap<>());
        PreparedStatement ps = kept.get(sql);
        if (ps == null) {
            ps = c.prepareStatement(sql);
            kept.put(sql, ps);
        }
        return ps;
    }

    @Override
    boolean keepsStatements() {
        return true;
    }

    @Override
    <T extends @Nullable Object> T write(String what, SqlWork<T> work) {
        T result;
        long ticket;
        writeLock.lock();
        try {
            ensureOpen();
            try {
                statement(writer, "BEGIN IMMEDIATE").execute();
            } catch (SQLException e) {
                throw unavailable(what, e);
            }
            boolean committed = false;
            try {
                result = work.run(writer);
                statement(writer, "COMMIT").execute();
                committed = true;
                ticket = walSync.ticket();
            } catch (SQLException e) {
                throw unavailable(what, e);
            } finally {
                if (!committed) {
                    try {
                        statement(writer, "ROLLBACK").execute();
                    } catch (SQLException e) {
                        log.warn("registry {}: rollback after failed '{}' failed: {}", file, what, e.getMessage());
                    }
                }
            }
        } finally {
            writeLock.unlock();
        }
        try {
            walSync.sync(ticket);
        } catch (IOException e) {
            throw new RegistryException("registry.unavailable", "registry " + file + ": committed but cannot fsync the WAL to " + what + ": " + e.getMessage(), e);
        }
        return result;
    }

    /** fsync of the WAL file, opened per sync: SQLite may recreate it, and only the leader of a group pays the open. */
    private void forceWal() throws IOException {
        Path wal = file.resolveSibling(file.getFileName() + "-wal");
        try (FileChannel ch = FileChannel.open(wal, StandardOpenOption.WRITE)) {
            ch.force(false);
        } catch (java.nio.file.NoSuchFileException e) {
            // no WAL: the last commit was checkpointed into the main file, which SQLite synced
        }
    }

    @Override
    <T extends @Nullable Object> T read(String what, SqlWork<T> work) {
        ensureOpen();
        Connection c;
        try {
            c = readers.poll(busyTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("registry.unavailable", "registry " + file + ": interrupted while waiting to " + what, e);
        }
        if (c == null) {
            throw new RegistryException("registry.unavailable", "registry " + file + ": no free connection within "
                    + busyTimeout.toMillis() + " ms to " + what);
        }
        try {
            return work.run(c);
        } catch (SQLException e) {
            throw unavailable(what, e);
        } finally {
            if (closed) {
                closeQuietly(c);
            } else {
                readers.add(c);
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new RegistryException("registry.unavailable", "registry " + file + " is closed");
        }
    }

    private RegistryException unavailable(String what, SQLException e) {
        if (e instanceof SQLiteException se && (se.getResultCode().code & 0xff) == SQLiteErrorCode.SQLITE_BUSY.code) {
            return new RegistryException("registry.unavailable", "registry " + file + " is locked by another writer; waited "
                    + busyTimeout.toMillis() + " ms to " + what, e);
        }
        return new RegistryException("registry.unavailable", "registry " + file + ": cannot " + what + ": " + e.getMessage(), e);
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            log.debug("closing a registry connection failed", e);
        }
    }

}
