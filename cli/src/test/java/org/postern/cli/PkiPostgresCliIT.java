package org.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.cli.PosternCliIT.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.cli.PosternCliIT.Run;
import org.postern.pki.testing.TestPostgres;

/**
 * {@code postern pki … --config pki.yaml} with {@code registry.url: postgresql://…}: the commands
 * work on the shared database, not on {@code registry.db} in {@code --dir}; a stopped database is
 * exit 4 with the reason.
 */
class PkiPostgresCliIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    TestPostgres pg;

    @AfterEach
    void stop() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void deviceLifecycle_onPostgres_andUnavailableWhenStopped() throws Exception {
        pg = TestPostgres.start(tmp);
        Path pass = Files.writeString(tmp.resolve("pass.txt"), "correct horse battery staple\n");
        Path pw = Files.writeString(tmp.resolve("registry.pw"), pg.password() + "\n");
        Files.setPosixFilePermissions(pw, PosixFilePermissions.fromString("rw-------"));
        Path config = Files.writeString(tmp.resolve("pki.yaml"), "registry:\n  url: " + pg.url() + "\n  user: " + pg.user()
                + "\n  passwordFile: registry.pw\n");
        String d = tmp.resolve("data").toString();
        String c = config.toString();

        Run init = run("pki", "init", "--dir", d, "--name", "Test Org", "--passphrase-file", pass.toString(), "--config", c);
        assertThat(init.code()).as(init.err()).isZero();
        Run add = run("pki", "device", "add", "laptop-7", "--owner", "bob", "--groups", "admins", "--json", "--dir", d, "--config", c);
        assertThat(add.code()).as(add.err()).isZero();

        JsonNode shared = JSON.readTree(run("pki", "device", "list", "--json", "--dir", d, "--config", c).out());
        assertThat(shared).hasSize(1);
        assertThat(shared.get(0).get("id").asText()).isEqualTo("laptop-7");
        assertThat(JSON.readTree(run("pki", "device", "list", "--json", "--dir", d).out()))
                .as("without --config: the SQLite file in --dir, which has none").isEmpty();

        Run suspend = run("pki", "device", "suspend", "laptop-7", "--dir", d, "--config", c, "--passphrase-file", pass.toString());
        assertThat(suspend.code()).as(suspend.err()).isZero();
        assertThat(run("pki", "device", "show", "laptop-7", "--dir", d, "--config", c).out()).contains("status: suspended");

        pg.stop();
        Run down = run("pki", "device", "list", "--dir", d, "--config", c);
        assertThat(down.code()).isEqualTo(Exit.UNAVAILABLE);
        assertThat(down.err()).contains(pg.url()).contains("cannot reach PostgreSQL").doesNotContain(pg.password());
    }
}
