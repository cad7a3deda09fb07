package org.postern.pki.registry;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Brings a registry database to the schema this code knows. Migration {@code n} is the SQL
 * resource {@code scripts.get(n - 1)}; the versions applied are rows of {@code schema_version}.
 * Runs inside the caller's transaction (SQLite's BEGIN IMMEDIATE; on PostgreSQL after an advisory
 * lock), so two processes opening an old database at once migrate it once. SQLite and PostgreSQL
 * have a script each per version, with the same number and the same meaning.
 */
final class SchemaMigrations {
    /** The SQLite migrations of this release, in order. Append only; never edit a released script. */
    static final List<String> SCRIPTS = List.of("V1__init.sql", "V2__charter.sql");
    /** The PostgreSQL migrations: one per SQLite migration, same number, same meaning. */
    static final List<String> POSTGRES_SCRIPTS = List.of("postgres/V1__init.sql", "postgres/V2__charter.sql");
    static final String SQLITE_VERSION_TABLE =
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT";
    static final String POSTGRES_VERSION_TABLE =
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";

    private SchemaMigrations() {}

    /** Returns the version the database was at before migrating. */
    static int migrate(Connection c, List<String> scripts, String versionTable, String name, long nowMillis) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(versionTable);
        }
        int current;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT coalesce(max(version), 0) FROM schema_version")) {
            rs.next();
            current = rs.getInt(1);
        }
        if (current > scripts.size()) {
            throw new RegistryException("registry.too_new", name + " is at schema version " + current
                    + ", this Postern knows up to " + scripts.size() + "; use a newer Postern or restore a backup");
        }
        for (int v = current + 1; v <= scripts.size(); v++) {
            for (String sql : statements(load(scripts.get(v - 1)))) {
                try (Statement st = c.createStatement()) {
                    st.executeUpdate(sql);
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")) {
                ps.setInt(1, v);
                ps.setLong(2, nowMillis);
                ps.executeUpdate();
            }
        }
        return current;
    }

    /** Splits a script on ';' at line ends, dropping '--' comment lines. Scripts hold no triggers. */
    static List<String> statements(String script) {
        StringBuilder body = new StringBuilder();
        for (String line : script.split("\n")) {
            if (!line.strip().startsWith("--")) {
                body.append(line).append('\n');
            }
        }
        return java.util.Arrays.stream(body.toString().split(";\\s*\n"))
                .map(String::strip)
                .filter(s -> !s.isEmpty())
                .toList();
    }

    private static String load(String name) {
        try (InputStream in = SchemaMigrations.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("registry migration " + name + " missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("registry migration " + name + " unreadable", e);
        }
    }
}
