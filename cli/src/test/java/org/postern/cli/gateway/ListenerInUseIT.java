package org.postern.cli.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postern.cli.PosternCliIT;
import org.postern.cli.PosternCliIT.Run;

/**
 * A listener whose port another process holds (issue 11 item 14): {@code gateway run} and {@code pki serve}
 * end with exit 7 and one line naming the listener, its address and its setting, not exit 4
 * ("registry or audit unavailable") and a bare {@code Address already in use}; the listeners already
 * bound are released.
 */
class ListenerInUseIT {
    @TempDir
    Path tmp;
    Path data;
    Path pass;
    Path config;
    Map<String, Integer> ports;

    @BeforeEach
    void setUp() throws Exception {
        data = tmp.resolve("data");
        pass = Files.writeString(tmp.resolve("pass.txt"), GatewayAdminCliIT.PASSPHRASE + "\n");
        Run init = PosternCliIT.run("pki", "init", "--dir", data.toString(), "--passphrase-file", pass.toString());
        assertThat(init.code()).as(init.err()).isZero();
        ports = Map.of("tunnel", GatewayAdminCliIT.freePort(), "admin", GatewayAdminCliIT.freePort(),
                "ssh", GatewayAdminCliIT.freePort());
        config = Files.writeString(tmp.resolve("gateway.yaml"), """
                gateway:
                  id: gw-port-test
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                audit:
                  minFree: 1MiB
                """.formatted(data, ports.get("tunnel"), ports.get("admin"), ports.get("ssh")));
    }

    /** Runs the command in this process, bounded: a start that does not fail would serve until stopped. */
    private static Run runBounded(String... args) throws Exception {
        return CompletableFuture.supplyAsync(() -> PosternCliIT.run(args)).get(60, TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tunnel", "admin", "ssh"})
    void run_listenerPortInUse_isExit7NamingTheListenerAndAddress(String listener) throws Exception {
        int port = ports.get(listener);
        try (ServerSocket holder = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            Run r = runBounded("gateway", "run", "--config", config.toString(), "--passphrase-file", pass.toString());
            assertThat(r.code()).as(r.err()).isEqualTo(7);
            assertThat(r.err()).isEqualTo("postern: cannot start the gateway: " + listener + " listener 127.0.0.1:" + port
                    + ": address already in use (listeners." + listener + ")\n");
        }
        // what had started before the failure is closed: every port is free again
        for (int p : ports.values()) {
            try (ServerSocket again = new ServerSocket(p, 1, InetAddress.getByName("127.0.0.1"))) {
                assertThat(again.getLocalPort()).isEqualTo(p);
            }
        }
    }

    @Test
    void pkiServe_portInUse_isExit7NamingTheListenAddress() throws Exception {
        try (ServerSocket holder = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            String at = "127.0.0.1:" + holder.getLocalPort();
            Run r = runBounded("pki", "serve", "--dir", data.toString(), "--passphrase-file", pass.toString(), "--listen", at);
            assertThat(r.code()).as(r.err()).isEqualTo(7);
            assertThat(r.err()).isEqualTo("postern: cannot start the PKI server: listener " + at
                    + ": address already in use (--listen)\n");
        }
    }

    @Test
    void help_listsExit7() {
        Run help = PosternCliIT.run("--help");
        assertThat(help.out()).contains("7   a listener cannot bind its address");
    }
}
