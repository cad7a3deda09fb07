package org.postern.cli.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.cli.DefaultPaths;
import org.postern.cli.PosternCommand;
import picocli.CommandLine;

/**
 * Issue 16: on an installed system {@code postern gateway run} reads /etc/postern/gateway.yaml without
 * --config. The settings directory is pointed at a scratch one through {@value DefaultPaths#ETC_PROPERTY};
 * each config names a data directory without a CA, so the command stops at "no CA in DIR" and the
 * message shows which file it read, without starting a server.
 */
class DefaultConfigPathTest {
    @TempDir
    Path tmp;

    private final StringWriter err = new StringWriter();

    @BeforeEach
    void pointEtcAtScratch() {
        System.setProperty(DefaultPaths.ETC_PROPERTY, tmp.resolve("etc").toString());
    }

    @AfterEach
    void restore() {
        System.clearProperty(DefaultPaths.ETC_PROPERTY);
    }

    @Test
    void run_withoutConfig_noDefaultFile_namesTheDefaultPath() {
        int code = run("gateway", "run");

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("expected gateway settings at " + tmp.resolve("etc/gateway.yaml")
                + " (the default without --config or $POSTERN_GATEWAY_CONFIG), found no such file");
    }

    @Test
    void run_withoutConfig_readsTheInstalledDefault() throws IOException {
        Files.createDirectories(tmp.resolve("etc"));
        Files.writeString(tmp.resolve("etc/gateway.yaml"), "dataDir: " + tmp.resolve("installed-data") + "\n");

        int code = run("gateway", "run");

        assertThat(code).isEqualTo(3);
        assertThat(err.toString()).contains("no CA in " + tmp.resolve("installed-data"));
    }

    @Test
    void run_withConfig_ignoresTheInstalledDefault() throws IOException {
        Files.createDirectories(tmp.resolve("etc"));
        Files.writeString(tmp.resolve("etc/gateway.yaml"), "dataDir: " + tmp.resolve("installed-data") + "\n");
        Path given = Files.writeString(tmp.resolve("mine.yaml"), "dataDir: " + tmp.resolve("my-data") + "\n");

        int code = run("gateway", "run", "--config", given.toString());

        assertThat(code).isEqualTo(3);
        assertThat(err.toString()).contains("no CA in " + tmp.resolve("my-data")).doesNotContain("installed-data");
    }

    @Test
    void defaultPaths_withoutOverride_isEtcPostern() {
        System.clearProperty(DefaultPaths.ETC_PROPERTY);

        assertThat(DefaultPaths.gatewayConfig()).isEqualTo(Path.of("/etc/postern/gateway.yaml"));
    }

    private int run(String... args) {
        CommandLine cl = PosternCommand.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return PosternCommand.execute(cl, args);
    }
}
