package org.postern.pki.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The helper starts a real server that takes its user's password over TCP, and survives stop and restart. */
class TestPostgresTest {

    @Test
    void start_stop_restart_keepsPortAndData(@TempDir Path dir) throws SQLException {
        try (TestPostgres pg = TestPostgres.start(dir)) {
            assertThat(pg.url()).matches("postgresql://127\\.0\\.0\\.1:\\d+/postern");
            try (Connection c = connect(pg); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE kept (v INTEGER)");
                st.execute("INSERT INTO kept VALUES (42)");
            }
            assertThatThrownBy(() -> DriverManager.getConnection(jdbc(pg), pg.user(), "wrong").close())
                    .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");

            pg.stop();
            assertThatThrownBy(() -> connect(pg).close()).isInstanceOf(SQLException.class).hasMessageContaining("Connection to 127.0.0.1");

            pg.restart();
            try (Connection c = connect(pg); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT v FROM kept")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(42);
            }
        }
    }

    private static Connection connect(TestPostgres pg) throws SQLException {
        return DriverManager.getConnection(jdbc(pg), pg.user(), pg.password());
    }

    private static String jdbc(TestPostgres pg) {
        return "jdbc:" + pg.url();
    }
}
