package org.postern.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;

import org.jspecify.annotations.Nullable;

/**
 * The demo's "admin host" on loopback: a small HTTP service and, when {@code /usr/sbin/sshd} is
 * installed and starts, a real sshd with a throw-away host key and a client key for this user.
 */
final class DemoAdminHost implements AutoCloseable {
    static final String PAGE = "hello from the admin host (the demo's HTTP service on loopback)\n";
    static final Path SSHD = Path.of("/usr/sbin/sshd");
    static final Path SSH_KEYGEN = Path.of("/usr/bin/ssh-keygen");
    static final Path SSH = Path.of("/usr/bin/ssh");

    private final HttpServer web;
    private Process sshd;
    private int sshPort;
    private Path clientKey;

    private DemoAdminHost(HttpServer web) {
        this.web = web;
    }

    static DemoAdminHost startWeb() throws IOException {
        HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", x -> {
            byte[] body = PAGE.getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        web.start();
        return new DemoAdminHost(web);
    }

    int webPort() {
        return web.getAddress().getPort();
    }

    /**
     * Starts sshd on a free loopback port, or says why not (null when it runs): the demo works
     * without it.
     */
    @Nullable String startSshd(Path dir) throws IOException, InterruptedException {
        for (Path tool : new Path[] {SSHD, SSH_KEYGEN, SSH}) {
            if (!Files.isExecutable(tool)) {
                return tool + " is not installed (Debian packages openssh-server, openssh-client)";
            }
        }
        Files.createDirectories(dir);
        Path hostKey = dir.resolve("host_key");
        clientKey = dir.resolve("client_key");
        for (Path key : new Path[] {hostKey, clientKey}) {
            Process p = new ProcessBuilder(SSH_KEYGEN.toString(), "-q", "-t", "ed25519", "-N", "", "-f", key.toString())
                    .redirectErrorStream(true).start();
            String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "ssh-keygen failed: " + said.strip();
            }
        }
        Path authorized = Files.copy(dir.resolve("client_key.pub"), dir.resolve("authorized_keys"));
        try {
            Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege-separation directory
        } catch (IOException e) {
            // not root: sshd says itself whether it can run without it
        }
        sshPort = freePort();
        Path config = Files.writeString(dir.resolve("sshd_config"), """
                Port %d
                ListenAddress 127.0.0.1
                HostKey %s
                AuthorizedKeysFile %s
                StrictModes no
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                UsePAM no
                PidFile %s
                """.formatted(sshPort, hostKey, authorized, dir.resolve("sshd.pid")));
        Path log = dir.resolve("sshd.log");
        sshd = new ProcessBuilder(SSHD.toString(), "-D", "-e", "-f", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Instant until = Instant.now().plusSeconds(15);
        while (Instant.now().isBefore(until)) {
            if (!sshd.isAlive()) {
                return "sshd exited: " + Files.readString(log).strip();
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), sshPort)) {
                return null;
            } catch (IOException notYet) {
                sshd.waitFor(100, TimeUnit.MILLISECONDS);
            }
        }
        return "sshd did not listen on 127.0.0.1:" + sshPort + " within 15 s";
    }

    boolean sshRunning() {
        return sshd != null && sshd.isAlive();
    }

    int sshPort() {
        return sshPort;
    }

    Path clientKey() {
        return clientKey;
    }

    @Override
    public void close() {
        if (sshd != null && sshd.isAlive()) {
            sshd.destroy();
            try {
                if (!sshd.waitFor(5, TimeUnit.SECONDS)) {
                    sshd.destroyForcibly();
                }
            } catch (InterruptedException e) {
                sshd.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        web.stop(0);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

}
