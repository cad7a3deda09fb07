package org.postern.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.postern.pki.testing.Proc;

/**
 * What a test needs to start OpenSSH's real {@code sshd} as an admin host: a host key, a client key
 * whose public half is the only authorized one (root may log in by it, nothing else), and the
 * config file. The test starts {@code sshd -D -e -f config()} itself, where it needs to (on
 * loopback, or inside a network namespace).
 *
 * @param config    the sshd_config
 * @param clientKey the private key that logs in
 */
public record TestSshd(Path config, Path clientKey) {

    /**
     * Makes the keys and the config in {@code dir}, every file name starting with {@code prefix}.
     *
     * @param listen the address sshd listens on
     * @param port   its port
     */
    public static TestSshd prepare(Path dir, String prefix, String listen, int port) throws IOException {
        Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege-separation directory
        Path hostKey = dir.resolve(prefix + "host_key");
        Path clientKey = dir.resolve(prefix + "client_key");
        for (Path key : new Path[] {hostKey, clientKey}) {
            Proc.run(dir, Duration.ofSeconds(30), "/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()).ok();
        }
        Path authorized = Files.copy(dir.resolve(prefix + "client_key.pub"), dir.resolve(prefix + "authorized_keys"));
        Path config = Files.writeString(dir.resolve(prefix + "sshd_config"), """
                Port %d
                ListenAddress %s
                HostKey %s
                AuthorizedKeysFile %s
                StrictModes no
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                UsePAM no
                PidFile %s
                """.formatted(port, listen, hostKey, authorized, dir.resolve(prefix + "sshd.pid")));
        return new TestSshd(config, clientKey);
    }
}
