package org.postern.pki.registry;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * What the SQLite and the PostgreSQL registries share: the rules of every operation and the rows
 * they read and write, in SQL both understand. A subclass decides how a transaction runs
 * ({@link #write}: SQLite's one writer with {@code BEGIN IMMEDIATE}, PostgreSQL's serializable
 * transactions retried on conflict), where a read gets its connection ({@link #read}), and how a
 * change is seen by other processes ({@link #changeCount}).
 */
abstract sealed class JdbcRegistry implements Registry permits SqliteRegistry, PostgresRegistry {

    /** Runs {@code work} as one write transaction: all of it is committed, or none. */
    abstract <T extends @Nullable Object> T write(String what, SqlWork<T> work);

    /** Runs {@code work} on a connection that sees every committed change. */
    abstract <T extends @Nullable Object> T read(String what, SqlWork<T> work);

    /**
     * A write that changes nothing a gateway's revocation view holds (what is revoked, on hold,
     * suspended): a new device, token, enrollment or certificate, an owner or groups, a CRL number,
     * posture bookkeeping. PostgreSQL runs it without moving the change count or notifying, so an
     * enrollment does not make every gateway reload its view, and concurrent enrollments do not all
     * update (and serialize on) the one counter row. {@link #write} is for revocations, suspensions,
     * resumptions and renewals (which supersede a certificate).
     */
    <T extends @Nullable Object> T writeBookkeeping(String what, SqlWork<T> work) {
        return write(what, work);
    }

    /** An SQL expression for an empty {@code der} (the CRL's entries need no certificate). */
    abstract String emptyDer();

    /**
     * The prepared statement for {@code sql} on {@code c}, its parameters about to be set anew.
     * SQLite compiles SQL on every {@code prepareStatement}, so {@link SqliteRegistry} keeps one
     * statement per connection and SQL text; PostgreSQL's driver already keeps the server-side
     * statements of a connection, so {@link PostgresRegistry} prepares a fresh one.
     */
    abstract PreparedStatement statement(Connection c, String sql) throws SQLException;

    /** Whether {@link #statement} hands out statements it keeps (then nobody closes them). */
    abstract boolean keepsStatements();

    /** Work inside a transaction or on a borrowed connection. */
    @FunctionalInterface
    interface SqlWork<T extends @Nullable Object> {
        T run(Connection c) throws SQLException;
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
        writeBookkeeping("add device " + device.id(), c -> {
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
        writeBookkeeping("add token for " + token.deviceId(), c -> {
            Device d = requireDevice(c, token.deviceId());
            if (d.status() == DeviceStatus.REVOKED) {
                throw new RegistryException("device.revoked", "device " + d.id() + " is revoked; it cannot get an enrollment token");
            }
            insertToken(c, token);
            return null;
        });
    }

    private void insertToken(Connection c, EnrollmentToken t) throws SQLException {
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
            try (ResultSet rs = query(c, "SELECT * FROM devices ORDER BY id")) {
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
        writeBookkeeping("touch device " + id, c -> {
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
        writeBookkeeping("complete enrollment of " + certificate.deviceId(), c -> {
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
        try (ResultSet rs = query(c, "SELECT used_at, voided_at, expires_at FROM enrollment_tokens WHERE hash = ?", hash)) {
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
        writeBookkeeping("add " + certificate.kind() + " certificate " + hex(certificate.serial()), c -> {
            insertCertificate(c, certificate);
            return null;
        });
    }

    private void insertCertificate(Connection c, CertificateRecord r) throws SQLException {
        try (ResultSet rs = query(c, "SELECT serial FROM certificates WHERE serial = ? OR sha256 = ?", hex(r.serial()), r.sha256())) {
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
        return writeBookkeeping("update device " + id, c -> {
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
                        + emptyDer() + " AS der FROM certificates WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY serial", now));
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
                    UPDATE devices SET status = CASE WHEN EXISTS (SELECT 1 FROM certificates WHERE device_id = ?)
                                                     THEN 'active' ELSE 'pending' END
                    WHERE id = ?""", id, id);
            return requireDevice(c, id);
        });
    }

    @Override
    public Map<String, DeviceStatus> barredDevices() {
        return read("list barred devices", c -> {
            try (ResultSet rs = query(c, "SELECT id, status FROM devices WHERE status IN ('suspended', 'revoked') ORDER BY id")) {
                Map<String, DeviceStatus> barred = new LinkedHashMap<>();
                while (rs.next()) {
                    barred.put(rs.getString(1), DeviceStatus.fromWire(rs.getString(2)));
                }
                return barred;
            }
        });
    }

    @Override
    public BigInteger nextCrlNumber() {
        return writeBookkeeping("next CRL number", c -> {
            try (ResultSet rs = query(c, "UPDATE counters SET value = value + 1 WHERE name = 'crl_number' RETURNING value")) {
                if (!rs.next()) {
                    throw new SQLException("counter crl_number missing");
                }
                return BigInteger.valueOf(rs.getLong(1));
            }
        });
    }

    // ---- the remote-work charter

    @Override
    public void acceptCharter(CharterAcceptance a) {
        Objects.requireNonNull(a, "acceptance");
        writeBookkeeping("record charter acceptance of " + a.deviceId(), c -> {
            Device d = requireDevice(c, a.deviceId());
            if (d.status() == DeviceStatus.REVOKED) {
                throw new RegistryException("device.revoked", "device " + d.id() + " is revoked; it cannot accept the charter");
            }
            if (d.status() != DeviceStatus.ACTIVE) {
                // suspended (or not yet enrolled) between the gateway's check and this write
                throw new RegistryException("device.state", "device " + d.id() + " is " + d.status().wireName()
                        + "; only an active device can accept the charter");
            }
            if (!d.owner().equals(a.owner())) {
                throw new RegistryException("device.owner_changed", "device " + d.id() + " is owned by " + d.owner()
                        + ", not by " + a.owner() + " who accepted the charter");
            }
            // the same statement on SQLite and PostgreSQL: one row per device, its latest acceptance. An older
            // version (a gateway still on the previous charter) never replaces a newer one of the same owner;
            // a new owner's acceptance always replaces the previous owner's
            update(c, """
                    INSERT INTO charter_acceptances (device_id, owner, version, sha256, accepted_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (device_id) DO UPDATE SET owner = excluded.owner, version = excluded.version,
                        sha256 = excluded.sha256, accepted_at = excluded.accepted_at
                    WHERE charter_acceptances.owner <> excluded.owner OR excluded.version >= charter_acceptances.version""",
                    a.deviceId(), a.owner(), a.version(), a.sha256(), a.acceptedAt());
            return null;
        });
    }

    @Override
    public Optional<CharterAcceptance> charterAcceptance(String deviceId) {
        return read("read charter acceptance of " + deviceId, c -> {
            try (ResultSet rs = query(c, "SELECT * FROM charter_acceptances WHERE device_id = ?", deviceId)) {
                return rs.next() ? Optional.of(new CharterAcceptance(rs.getString("device_id"), rs.getString("owner"),
                        rs.getInt("version"), rs.getString("sha256"), instant(rs, "accepted_at"))) : Optional.empty();
            }
        });
    }

    // ---- rows

    private Optional<Device> findDevice(Connection c, String id) throws SQLException {
        try (ResultSet rs = query(c, "SELECT * FROM devices WHERE id = ?", id)) {
            return rs.next() ? Optional.of(device(rs)) : Optional.empty();
        }
    }

    private Device requireDevice(Connection c, String id) throws SQLException {
        return findDevice(c, id).orElseThrow(() -> unknownDevice(id));
    }

    private static RegistryException unknownDevice(String id) {
        return new RegistryException("device.unknown", "no device with id \"" + id + "\"");
    }

    private Optional<EnrollmentToken> findToken(Connection c, String hash) throws SQLException {
        try (ResultSet rs = query(c, "SELECT * FROM enrollment_tokens WHERE hash = ?", hash)) {
            if (!rs.next()) {
                return Optional.empty();
            }
            return Optional.of(new EnrollmentToken(rs.getString("hash"), rs.getString("device_id"),
                    instant(rs, "created_at"), instant(rs, "expires_at"), instant(rs, "used_at")));
        }
    }

    private Optional<CertificateRecord> findCertificate(Connection c, BigInteger serial) throws SQLException {
        List<CertificateRecord> found = certificates(c, "SELECT * FROM certificates WHERE serial = ?", hex(serial));
        return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
    }

    private List<CertificateRecord> certificates(Connection c, String sql, Object... args) throws SQLException {
        try (ResultSet rs = query(c, sql, args)) {
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

    /**
     * Runs a query; closing the result set resets a kept statement (SQLite ends the statement's
     * read, so the connection sees later commits) or closes a fresh one.
     */
    private ResultSet query(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement ps = bind(c, sql, args);
        try {
            if (!keepsStatements()) {
                ps.closeOnCompletion();
            }
            return ps.executeQuery();
        } catch (SQLException | RuntimeException e) {
            release(ps);
            throw e;
        }
    }

    private int update(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement ps = bind(c, sql, args);
        try {
            return ps.executeUpdate();
        } finally {
            release(ps);
        }
    }

    private PreparedStatement bind(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement ps = statement(c, sql);
        try {
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                switch (a) {
                    case null -> ps.setObject(i + 1, null);
                    case Instant t -> ps.setLong(i + 1, t.toEpochMilli());
                    case byte[] b -> ps.setBytes(i + 1, b);
                    case String s -> ps.setString(i + 1, s);
                    case Integer n -> ps.setInt(i + 1, n);
                    default -> throw new IllegalArgumentException("unsupported SQL argument " + a.getClass());
                }
            }
            return ps;
        } catch (SQLException | RuntimeException e) {
            release(ps);
            throw e;
        }
    }

    /** Done with a statement: a kept one forgets its arguments (a byte[] of a certificate), a fresh one closes. */
    private void release(PreparedStatement ps) throws SQLException {
        if (keepsStatements()) {
            ps.clearParameters();
        } else {
            ps.close();
        }
    }
}
