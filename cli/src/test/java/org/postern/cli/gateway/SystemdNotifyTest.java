package org.postern.cli.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sd_notify for {@code Type=notify}: the datagram reaches a real Unix datagram socket, here one bound by
 * Python (the JDK cannot receive on one), which prints what it got.
 */
class SystemdNotifyTest {
    @TempDir
    Path tmp;

    @Test
    void send_readyReachesTheNotifySocket() throws Exception {
        Path sock = tmp.resolve("notify.sock");
        Process receiver = new ProcessBuilder("python3", "-c", """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.bind(sys.argv[1]); s.settimeout(20)
                print("bound", flush=True)
                print(s.recv(4096).decode(), end="")
                """, sock.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(receiver.getInputStream(), StandardCharsets.UTF_8));
            // the receiver says when its socket is bound; the read is bounded by a future
            String first = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).get(20, TimeUnit.SECONDS);
            assertThat(first).isEqualTo("bound");

            assertThat(SystemdNotify.send(sock.toString(), "READY=1\nSTATUS=serving")).isTrue();

            assertThat(receiver.waitFor(20, TimeUnit.SECONDS)).isTrue();
            StringBuilder rest = new StringBuilder();
            for (int c; (c = out.read()) >= 0; ) {
                rest.append((char) c);
            }
            assertThat(rest.toString()).isEqualTo("READY=1\nSTATUS=serving");
        } finally {
            receiver.destroyForcibly();
        }
    }

    @Test
    void send_withoutNotifySocket_doesNothing() {
        assertThat(SystemdNotify.send(null, "READY=1")).isFalse();
        assertThat(SystemdNotify.send("", "READY=1")).isFalse();
    }

    @Test
    void send_toNoListener_failsNamingTheSocket() throws IOException {
        Path none = tmp.resolve("nobody.sock");
        assertThatThrownBy(() -> SystemdNotify.send(none.toString(), "READY=1"))
                .hasMessageContaining("sd_notify: expected to send 7 bytes to " + none);
        assertThatThrownBy(() -> SystemdNotify.send("relative.sock", "READY=1"))
                .hasMessage("NOTIFY_SOCKET: expected an absolute path or @name shorter than 108 bytes, found \"relative.sock\"");
    }
}
