package org.postern.pki.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.postern.pki.registry.Fixtures.device;
import static org.postern.pki.registry.Fixtures.enrolled;
import static org.postern.pki.registry.Fixtures.token;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The file: creation, permissions, pragmas, migrations, durability across reopen, failures. */
class SqliteRegistryStorageTest {
    @TempDir
    Path dir;

    static List<String> query(Path db, String sql) {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    static void execute(Path db, String sql) {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            st.executeUpdate(sql);
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void open_emptyDirectory_createsRegistryAtCurrentSchema() {
        Path data = dir.resolve("data");
        try (SqliteRegistry r = SqliteRegistry.open(data, Fixtures.CLOCK)) {
            assertThat(r.devices()).isEmpty();
        }
        Path db = data.resolve("registry.db");

        assertThat(query(db, "SELECT version || ' ' || applied_at FROM schema_version ORDER BY version"))
                .containsExactly("1 " + Fixtures.T0.toEpochMilli(), "2 " + Fixtures.T0.toEpochMilli());
        assertThat(query(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"))
                .containsExactly("certificates", "charter_acceptances", "counters", "devices", "enrollment_tokens", "schema_version");
        assertThat(query(db, "PRAGMA journal_mode")).containsExactly("wal");
    }

    @Test
    @EnabledOnOs({OS.LINUX, OS.MAC})
    void open_newFile_isReadableByOwnerOnly() throws Exception {
        try (SqliteRegistry r = SqliteRegistry.open(dir.resolve("data"), Fixtures.CLOCK)) {
            r.addDevice(device("laptop-1"), token("laptop-1"));
            Path db = dir.resolve("data/registry.db");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(db))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data/registry.db-wal")))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data")))).isEqualTo("rwx------");
        }
    }

    @Test
    void open_pragmas_areWalFullSyncForeignKeysAndBusyTimeout() throws Exception {
        try (SqliteRegistry r = SqliteRegistry.open(dir, Fixtures.CLOCK)) {
            // Per-connection pragmas are only visible on the connection itself: read the writer's.
            var field = SqliteRegistry.class.getDeclaredField("writer");
            field.setAccessible(true);
            Connection writer = (Connection) field.get(r);
            try (Statement st = writer.createStatement()) {
                assertThat(single(st, "PRAGMA journal_mode")).isEqualTo("wal");
                assertThat(single(st, "PRAGMA synchronous")).isEqualTo("1"); // NORMAL: durability comes from the group fsync of the WAL after each commit
                assertThat(single(st, "PRAGMA foreign_keys")).isEqualTo("1");
                assertThat(single(st, "PRAGMA busy_timeout")).isEqualTo("10000");
                assertThatThrownBy(() -> st.executeUpdate(
                        "INSERT INTO enrollment_tokens (hash, device_id, created_at, expires_at) VALUES ('aa', 'ghost', 0, 1)"))
                        .hasMessageContaining("FOREIGN KEY");
            }
        }
    }

    private static String single(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            return rs.getString(1);
        }
    }

    @Test
    void reopen_keepsDevicesCertificatesAndTokens() {
        try (SqliteRegistry r = SqliteRegistry.open(dir, Fixtures.CLOCK)) {
            enrolled(r, "laptop-1", 101);
            r.addDevice(device("laptop-2"), token("laptop-2"));
            r.revokeDevice("laptop-2", RevocationReason.retired, Fixtures.T0.plusSeconds(5));
        }
        try (SqliteRegistry r = SqliteRegistry.open(dir, Fixtures.CLOCK)) {
            assertThat(r.devices()).extracting(Device::id, Device::status)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("laptop-1", DeviceStatus.ACTIVE),
                            org.assertj.core.groups.Tuple.tuple("laptop-2", DeviceStatus.REVOKED));
            assertThat(r.status(BigInteger.valueOf(101))).isInstanceOf(CertStatus.Good.class);
            assertThat(r.token(Fixtures.tokenHash("laptop-1", "")).orElseThrow().used()).isTrue();
        }
        assertThat(query(dir.resolve("registry.db"), "SELECT count(*) FROM schema_version")).containsExactly("2");
    }

    @Test
    void open_olderSchema_appliesOnlyTheNewMigrationsAndKeepsData() {
        // a registry of a release before the charter (schema version 1)
        try (SqliteRegistry r = SqliteRegistry.open(dir, Fixtures.CLOCK, Duration.ofSeconds(10), List.of("V1__init.sql"))) {
            enrolled(r, "laptop-1", 101);
        }
        List<String> v3 = List.of("V1__init.sql", "V2__charter.sql", "V2__test_note.sql");
        try (SqliteRegistry r = SqliteRegistry.open(dir, Fixtures.CLOCK, Duration.ofSeconds(10), v3)) {
            assertThat(r.device("laptop-1")).isPresent();
            assertThat(r.charterAcceptance("laptop-1")).isEmpty();
        }
        Path db = dir.resolve("registry.db");

        assertThat(query(db, "SELECT version FROM schema_version ORDER BY version")).containsExactly("1", "2", "3");
        assertThat(query(db, "SELECT note FROM test_notes")).containsExactly("migrated; to v2");
        // and the older code now refuses the file
        assertThatThrownBy(() -> SqliteRegistry.open(dir, Fixtures.CLOCK))
                .hasMessageStartingWith("registry.db is at schema version 3, this Postern knows up to 2");
    }

    @Test
    void open_failedMigration_leavesTheFileAtItsVersion() {
        SqliteRegistry.open(dir, Fixtures.CLOCK).close();
        List<String> broken = List.of("V1__init.sql", "V2__charter.sql", "V2__test_note.sql", "V1__init.sql"); // V4 re-creates existing tables

        assertThatThrownBy(() -> SqliteRegistry.open(dir, Fixtures.CLOCK, Duration.ofSeconds(10), broken))
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.code()).isEqualTo("registry.unavailable"))
                .hasMessageContaining("registry.db: cannot migrate");
        Path db = dir.resolve("registry.db");
        assertThat(query(db, "SELECT max(version) FROM schema_version")).containsExactly("2");
        assertThat(query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'test_notes'")).containsExactly("0");
    }

    @Test
    void statements_splitsOnSemicolonAtLineEndAndDropsComments() {
        assertThat(SchemaMigrations.statements("-- c; x\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\nINSERT INTO a VALUES ('1');\n"))
                .containsExactly("CREATE TABLE a (x TEXT DEFAULT 'a;b')", "INSERT INTO a VALUES ('1')");
    }

    @Test
    void open_notADatabase_isUnavailableNamingTheFile() throws Exception {
        Files.writeString(dir.resolve("registry.db"), "this is not an SQLite database, just text that is long enough ".repeat(20));

        assertThatThrownBy(() -> SqliteRegistry.open(dir, Fixtures.CLOCK))
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.code()).isEqualTo("registry.unavailable"))
                .hasMessageContaining(dir.resolve("registry.db").toString());
    }

    @Test
    void write_whileAnotherProcessHoldsTheLock_isUnavailableButReadsGoOn() throws Exception {
        try (SqliteRegistry r = SqliteRegistry.open(dir, Fixtures.CLOCK, Duration.ofMillis(200), SchemaMigrations.SCRIPTS)) {
            enrolled(r, "laptop-1", 101);
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("registry.db"));
                    Statement st = other.createStatement()) {
                st.execute("BEGIN IMMEDIATE");

                assertThatThrownBy(() -> r.addDevice(device("laptop-2"), token("laptop-2")))
                        .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.code()).isEqualTo("registry.unavailable"))
                        .hasMessage("registry " + dir.resolve("registry.db") + " is locked by another writer; waited 200 ms to add device laptop-2");
                assertThat(r.status(BigInteger.valueOf(101))).isInstanceOf(CertStatus.Good.class);

                st.execute("ROLLBACK");
            }
            r.addDevice(device("laptop-2"), token("laptop-2"));
            assertThat(r.device("laptop-2")).isPresent();
        }
    }
}
