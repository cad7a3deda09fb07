package org.postern.pki.registry;

import java.io.IOException;
import java.math.BigInteger;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
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
 */
public final class SqliteRegistry implements Registry {
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
            int from = registry.write("migrate", c -> SchemaMigrations.migrate(c, migrations, FILE_NAME, clock.millis()));
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

    // ---- devices and tokens

    @Override
    public void addDevice(Device device, EnrollmentToken token) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(token, "token");
        if (device.status() != DeviceStatus.PENDING) {
            throw new IllegalArgumentException("addDevice: expected a pending device, found " + device.status().wireName() + " for " + device.id());
        }
        if (!token.deviceId().equals(device.id())) {
            throw new IllegalArgumentException("addDevice: token is for device " + token.deviceId() + ", expected " + device.id());
        }
        write("add device " + device.id(), c -> {
            if (findDevice(c, device.id()).isPresent()) {
                throw new RegistryException("device.exists", "device " + device.id() + " already exists");
            }
            update(c, """
                    INSERT INTO devices (id, owner, groups, status, hardware_serial, created_at, enrolled_at, last_seen, last_posture)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    device.id(), device.owner(), String.join(",", device.groups()), device.status().wireName(),
                    device.hardwareSerial(), device.createdAt(), device.enrolledAt(), device.lastSeen(), device.lastPosture());
            insertToken(c, token);
            return null;
        });
    }

    @Override
    public void addToken(EnrollmentToken token) {
        Objects.requireNonNull(token, "token");
        write("add token for " + token.deviceId(), c -> {
            Device d = requireDevice(c, token.deviceId());
            if (d.status() == DeviceStatus.REVOKED) {
                throw new RegistryException("device.revoked", "device " + d.id() + " is revoked; it cannot get an enrollment token");
            }
            insertToken(c, token);
            return null;
        });
    }

    private static void insertToken(Connection c, EnrollmentToken t) throws SQLException {
        if (findToken(c, t.hash()).isPresent()) {
            throw new RegistryException("token.exists", "an enrollment token with hash " + t.hash() + " already exists");
        }
        update(c, "INSERT INTO enrollment_tokens (hash, device_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?)",
                t.hash(), t.deviceId(), t.createdAt(), t.expiresAt(), t.usedAt());
    }

    @Override
    public Optional<Device> device(String id) {
        return read("read device " + id, c -> findDevice(c, id));
    }

    @Override
    public List<Device> devices() {
        return read("list devices", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT * FROM devices ORDER BY id"); ResultSet rs = ps.executeQuery()) {
                List<Device> all = new ArrayList<>();
                while (rs.next()) {
                    all.add(device(rs));
                }
                return all;
            }
        });
    }

    @Override
    public Optional<EnrollmentToken> token(String hash) {
        return read("read token", c -> findToken(c, hash));
    }

    @Override
    public void touchDevice(String id, Instant lastSeen, String lastPosture) {
        write("touch device " + id, c -> {
            if (update(c, "UPDATE devices SET last_seen = ?, last_posture = ? WHERE id = ?", lastSeen, lastPosture, id) == 0) {
                throw unknownDevice(id);
            }
            return null;
        });
    }

    // ---- certificates

    /**
     * Besides the contract: refuses an unknown ({@code token.unknown}), voided ({@code token.void})
     * or expired ({@code token.expired}) token, a token whose device is revoked
     * ({@code device.revoked}) or suspended ({@code device.state}), and a certificate that is not
     * the token's device's.
     */
    @Override
    public void completeEnrollment(String tokenHash, CertificateRecord certificate, Instant at) {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(at, "at");
        write("complete enrollment of " + certificate.deviceId(), c -> {
            EnrollmentToken token = findToken(c, tokenHash).orElseThrow(
                    () -> new RegistryException("token.unknown", "no enrollment token has this hash"));
            if (!certificate.deviceId().equals(token.deviceId()) || certificate.kind() != CertificateRecord.Kind.device) {
                throw new IllegalArgumentException("completeEnrollment: token is for device " + token.deviceId()
                        + ", certificate is a " + certificate.kind() + " certificate for " + certificate.deviceId());
            }
            Device device = requireDevice(c, token.deviceId());
            switch (device.status()) {
                case REVOKED -> throw new RegistryException("device.revoked", "device " + device.id() + " is revoked; it cannot enroll");
                case SUSPENDED -> throw new RegistryException("device.state", "device " + device.id() + " is suspended; resume it before it enrolls");
                case PENDING, ACTIVE -> { }
            }
            if (update(c, "UPDATE enrollment_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND voided_at IS NULL AND expires_at > ?",
                    at, tokenHash, at) == 0) {
                throw refusedToken(c, tokenHash, at);
            }
            insertCertificate(c, certificate);
            update(c, "UPDATE devices SET status = 'active', enrolled_at = ? WHERE id = ?", at, device.id());
            return null;
        });
    }

    private RegistryException refusedToken(Connection c, String hash, Instant at) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT used_at, voided_at, expires_at FROM enrollment_tokens WHERE hash = ?", hash);
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            Instant used = instant(rs, "used_at");
            Instant voided = instant(rs, "voided_at");
            Instant expires = instant(rs, "expires_at");
            if (used != null) {
                return new RegistryException("token.used", "enrollment token was already used at " + used);
            }
            if (voided != null) {
                return new RegistryException("token.void", "enrollment token was voided at " + voided + " when its device was revoked");
            }
            return new RegistryException("token.expired", "enrollment token expired at " + expires + ", used at " + at);
        }
    }

    /**
     * Besides the contract: the device must be active ({@code device.revoked},
     * {@code device.state}); the superseded certificate must be this device's
     * ({@code certificate.unknown}) and still good ({@code certificate.revoked}).
     */
    @Override
    public void recordRenewal(CertificateRecord certificate, BigInteger supersede, Instant at) {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(at, "at");
        if (certificate.kind() != CertificateRecord.Kind.device) {
            throw new IllegalArgumentException("recordRenewal: expected a device certificate, found " + certificate.kind());
        }
        write("record renewal for " + certificate.deviceId(), c -> {
            Device device = requireDevice(c, certificate.deviceId());
            if (device.status() == DeviceStatus.REVOKED) {
                throw new RegistryException("device.revoked", "device " + device.id() + " is revoked; it cannot renew");
            }
            if (device.status() != DeviceStatus.ACTIVE) {
                throw new RegistryException("device.state", "device " + device.id() + " is " + device.status().wireName() + "; only an active device can renew");
            }
            if (supersede != null) {
                CertificateRecord old = findCertificate(c, supersede)
                        .filter(r -> device.id().equals(r.deviceId()))
                        .orElseThrow(() -> new RegistryException("certificate.unknown",
                                "certificate " + hex(supersede) + " is not a certificate of device " + device.id()));
                if (old.revoked()) {
                    throw new RegistryException("certificate.revoked", "certificate " + hex(supersede) + " of device " + device.id()
                            + " was revoked at " + old.revokedAt() + " (" + old.revocationReason() + "); it cannot be superseded");
                }
                update(c, "UPDATE certificates SET revoked_at = ?, revocation_reason = 'superseded' WHERE serial = ?", at, hex(supersede));
            }
            insertCertificate(c, certificate);
            return null;
        });
    }

    @Override
    public void addCertificate(CertificateRecord certificate) {
        Objects.requireNonNull(certificate, "certificate");
        if (certificate.kind() == CertificateRecord.Kind.device || certificate.deviceId() != null) {
            throw new IllegalArgumentException("addCertificate: expected a server, admin or ocsp certificate without a device, found "
                    + certificate.kind() + " for device " + certificate.deviceId());
        }
        write("add " + certificate.kind() + " certificate " + hex(certificate.serial()), c -> {
            insertCertificate(c, certificate);
            return null;
        });
    }

    private static void insertCertificate(Connection c, CertificateRecord r) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT serial FROM certificates WHERE serial = ? OR sha256 = ?", hex(r.serial()), r.sha256());
                ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
                throw new RegistryException("certificate.exists", "a certificate with serial " + hex(r.serial())
                        + " or SHA-256 " + r.sha256() + " is already recorded (serial " + rs.getString(1) + ")");
            }
        }
        update(c, """
                INSERT INTO certificates (serial, kind, device_id, subject, sha256, not_before, not_after, issued_at,
                                          revoked_at, revocation_reason, der)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                hex(r.serial()), r.kind().name(), r.deviceId(), r.subject(), r.sha256(), r.notBefore(), r.notAfter(),
                r.issuedAt(), r.revokedAt(), r.revocationReason() == null ? null : r.revocationReason().name(), r.der());
    }

    @Override
    public Optional<CertificateRecord> certificate(BigInteger serial) {
        return read("read certificate " + hex(serial), c -> findCertificate(c, serial));
    }

    @Override
    public List<CertificateRecord> certificatesOf(String deviceId) {
        return read("list certificates of " + deviceId, c -> certificates(c,
                "SELECT * FROM certificates WHERE device_id = ? ORDER BY issued_at DESC, serial DESC", deviceId));
    }

    @Override
    public List<CertificateRecord> certificates(CertificateRecord.Kind kind) {
        Objects.requireNonNull(kind, "kind");
        return read("list " + kind + " certificates", c -> certificates(c,
                "SELECT * FROM certificates WHERE kind = ? ORDER BY issued_at, serial", kind.name()));
    }

    @Override
    public CertificateRecord revokeCertificate(BigInteger serial, RevocationReason reason, Instant at) {
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(at, "at");
        return write("revoke certificate " + hex(serial), c -> {
            CertificateRecord r = findCertificate(c, serial).orElseThrow(() -> new RegistryException("certificate.unknown",
                    "no certificate with serial " + hex(serial) + " in the registry"));
            if (r.kind() == CertificateRecord.Kind.device) {
                throw new RegistryException("certificate.device", "certificate " + hex(serial) + " is device " + r.deviceId()
                        + "'s; revoke the device (postern pki device revoke " + r.deviceId() + ")");
            }
            if (r.revoked()) {
                throw new RegistryException("certificate.revoked", "certificate " + hex(serial) + " (" + r.subject()
                        + ") is already revoked since " + r.revokedAt() + " (" + r.revocationReason() + ")");
            }
            update(c, "UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ?", at, reason.name(), hex(serial));
            return findCertificate(c, serial).orElseThrow();
        });
    }

    @Override
    public Device updateDevice(String id, @Nullable String owner, @Nullable List<String> groups) {
        return write("update device " + id, c -> {
            Device d = requireDevice(c, id);
            if (d.status() == DeviceStatus.REVOKED) {
                throw new RegistryException("device.revoked", "device " + id + " is revoked; its owner and groups stay as they were");
            }
            // the record's constructor validates the new values
            Device updated = new Device(id, owner != null ? owner : d.owner(), groups != null ? groups : d.groups(), d.status(),
                    d.hardwareSerial(), d.createdAt(), d.enrolledAt(), d.lastSeen(), d.lastPosture());
            update(c, "UPDATE devices SET owner = ?, groups = ? WHERE id = ?", updated.owner(), String.join(",", updated.groups()), id);
            return requireDevice(c, id);
        });
    }

    @Override
    public CertStatus status(BigInteger serial) {
        return certificate(serial).<CertStatus>map(r -> r.revoked()
                        ? new CertStatus.Revoked(r, r.revokedAt(), r.revocationReason())
                        : new CertStatus.Good(r))
                .orElseGet(CertStatus.Unknown::new);
    }

    @Override
    public List<CertificateRecord> revokedCertificates(Instant now) {
        return read("list revoked certificates", c -> certificates(c,
                "SELECT serial, kind, device_id, subject, sha256, not_before, not_after, issued_at, revoked_at, revocation_reason, "
                        + "X'' AS der FROM certificates WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY serial", now));
    }

    // ---- revocation

    /**
     * Certificates already on hold are revoked for good with {@code reason}, keeping the earlier
     * hold time; certificates already revoked for another reason (superseded) keep theirs.
     */
    @Override
    public Device revokeDevice(String id, RevocationReason reason, Instant at) {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(at, "at");
        return write("revoke device " + id, c -> {
            Device d = requireDevice(c, id);
            if (d.status() == DeviceStatus.REVOKED) {
                throw new RegistryException("device.revoked", "device " + id + " is already revoked");
            }
            update(c, """
                    UPDATE certificates SET revoked_at = coalesce(revoked_at, ?), revocation_reason = ?
                    WHERE device_id = ? AND (revoked_at IS NULL OR revocation_reason = 'certificateHold')""",
                    at, reason.name(), id);
            update(c, "UPDATE enrollment_tokens SET voided_at = ? WHERE device_id = ? AND used_at IS NULL AND voided_at IS NULL", at, id);
            update(c, "UPDATE devices SET status = 'revoked' WHERE id = ?", id);
            return requireDevice(c, id);
        });
    }

    @Override
    public Device suspendDevice(String id, Instant at) {
        Objects.requireNonNull(at, "at");
        return write("suspend device " + id, c -> {
            Device d = requireDevice(c, id);
            if (d.status() != DeviceStatus.ACTIVE && d.status() != DeviceStatus.PENDING) {
                throw new RegistryException("device.state", "device " + id + " is " + d.status().wireName()
                        + "; only an active or pending device can be suspended");
            }
            update(c, "UPDATE certificates SET revoked_at = ?, revocation_reason = 'certificateHold' WHERE device_id = ? AND revoked_at IS NULL", at, id);
            update(c, "UPDATE devices SET status = 'suspended' WHERE id = ?", id);
            return requireDevice(c, id);
        });
    }

    @Override
    public Device resumeDevice(String id, Instant at) {
        Objects.requireNonNull(at, "at");
        return write("resume device " + id, c -> {
            Device d = requireDevice(c, id);
            if (d.status() != DeviceStatus.SUSPENDED) {
                throw new RegistryException("device.state", "device " + id + " is " + d.status().wireName()
                        + "; only a suspended device can be resumed");
            }
            update(c, "UPDATE certificates SET revoked_at = NULL, revocation_reason = NULL WHERE device_id = ? AND revocation_reason = 'certificateHold'", id);
            update(c, """
                    UPDATE devices SET status = CASE WHEN EXISTS (SELECT 1 FROM certificates WHERE device_id = ?1)
                                                     THEN 'active' ELSE 'pending' END
                    WHERE id = ?1""", id);
            return requireDevice(c, id);
        });
    }

    @Override
    public Map<String, DeviceStatus> barredDevices() {
        return read("list barred devices", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, status FROM devices WHERE status IN ('suspended', 'revoked') ORDER BY id");
                    ResultSet rs = ps.executeQuery()) {
                Map<String, DeviceStatus> barred = new LinkedHashMap<>();
                while (rs.next()) {
                    barred.put(rs.getString(1), DeviceStatus.fromWire(rs.getString(2)));
                }
                return barred;
            }
        });
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
    public BigInteger nextCrlNumber() {
        return write("next CRL number", c -> {
            try (PreparedStatement ps = prepare(c, "UPDATE counters SET value = value + 1 WHERE name = 'crl_number' RETURNING value");
                    ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("counter crl_number missing");
                }
                return BigInteger.valueOf(rs.getLong(1));
            }
        });
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
    public String toString() {
        return "SqliteRegistry[" + file + "]";
    }

    // ---- transactions

    @FunctionalInterface
    interface SqlWork<T extends @Nullable Object> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code work} as one write transaction: all of it is committed, or none. */
    private <T extends @Nullable Object> T write(String what, SqlWork<T> work) {
        T result;
        long ticket;
        writeLock.lock();
        try {
            ensureOpen();
            try (Statement st = writer.createStatement()) {
                st.execute("BEGIN IMMEDIATE");
            } catch (SQLException e) {
                throw unavailable(what, e);
            }
            boolean committed = false;
            try {
                result = work.run(writer);
                try (Statement st = writer.createStatement()) {
                    st.execute("COMMIT");
                }
                committed = true;
                ticket = walSync.ticket();
            } catch (SQLException e) {
                throw unavailable(what, e);
            } finally {
                if (!committed) {
                    try (Statement st = writer.createStatement()) {
                        st.execute("ROLLBACK");
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

    private <T extends @Nullable Object> T read(String what, SqlWork<T> work) {
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

    // ---- rows

    private static Optional<Device> findDevice(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT * FROM devices WHERE id = ?", id); ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(device(rs)) : Optional.empty();
        }
    }

    private static Device requireDevice(Connection c, String id) throws SQLException {
        return findDevice(c, id).orElseThrow(() -> unknownDevice(id));
    }

    private static RegistryException unknownDevice(String id) {
        return new RegistryException("device.unknown", "no device with id \"" + id + "\"");
    }

    private static Optional<EnrollmentToken> findToken(Connection c, String hash) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT * FROM enrollment_tokens WHERE hash = ?", hash); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return Optional.empty();
            }
            return Optional.of(new EnrollmentToken(rs.getString("hash"), rs.getString("device_id"),
                    instant(rs, "created_at"), instant(rs, "expires_at"), instant(rs, "used_at")));
        }
    }

    private static Optional<CertificateRecord> findCertificate(Connection c, BigInteger serial) throws SQLException {
        List<CertificateRecord> found = certificates(c, "SELECT * FROM certificates WHERE serial = ?", hex(serial));
        return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
    }

    private static List<CertificateRecord> certificates(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
            List<CertificateRecord> out = new ArrayList<>();
            while (rs.next()) {
                String reason = rs.getString("revocation_reason");
                out.add(new CertificateRecord(
                        new BigInteger(rs.getString("serial"), 16),
                        CertificateRecord.Kind.valueOf(rs.getString("kind")),
                        rs.getString("device_id"),
                        rs.getString("subject"),
                        rs.getString("sha256"),
                        instant(rs, "not_before"),
                        instant(rs, "not_after"),
                        instant(rs, "issued_at"),
                        instant(rs, "revoked_at"),
                        reason == null ? null : RevocationReason.valueOf(reason),
                        rs.getBytes("der")));
            }
            return out;
        }
    }

    private static Device device(ResultSet rs) throws SQLException {
        String groups = rs.getString("groups");
        return new Device(
                rs.getString("id"),
                rs.getString("owner"),
                groups.isEmpty() ? List.of() : Arrays.asList(groups.split(",")),
                DeviceStatus.fromWire(rs.getString("status")),
                rs.getString("hardware_serial"),
                instant(rs, "created_at"),
                instant(rs, "enrolled_at"),
                instant(rs, "last_seen"),
                rs.getString("last_posture"));
    }

    /** Serials are stored as lower-case hex without leading zeros, as {@code openssl} prints them. */
    static String hex(BigInteger serial) {
        return Objects.requireNonNull(serial, "serial").toString(16);
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        long millis = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(millis);
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                switch (a) {
                    case null -> ps.setObject(i + 1, null);
                    case Instant t -> ps.setLong(i + 1, t.toEpochMilli());
                    case byte[] b -> ps.setBytes(i + 1, b);
                    case String s -> ps.setString(i + 1, s);
                    default -> throw new IllegalArgumentException("unsupported SQL argument " + a.getClass());
                }
            }
            return ps;
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
    }

    private static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args)) {
            return ps.executeUpdate();
        }
    }
}
