package org.postern.agent.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.postern.keys.SshPublicKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.pki.ssh.SshUserCa;
import org.postern.pki.testing.Proc;

class SshCertificatesTest {

    @TempDir
    Path home;

    final SecureRandom random = new SecureRandom();
    final SshUserCa ca = SshUserCa.ephemeral(random);
    final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    final Instant leaseUntil = now.plus(Duration.ofMinutes(10));
    final AtomicInteger calls = new AtomicInteger();

    /** The gateway's side: sign whatever key is posted, until the lease end (like SshCertificateHandler). */
    final SshCertificates.Gateway gateway = (path, type, body) -> {
        calls.incrementAndGet();
        assertThat(path).isEqualTo("/v1/ssh/certificate");
        var key = SshUserCa.parsePublicKey(new String(body, StandardCharsets.US_ASCII));
        return new SshCertificates.Answer(200, null, ca.issue(key, "laptop-1", "alice", now, leaseUntil).line() + "\n");
    };

    @Test
    void renew_makesA0600OpenSshKey_andStoresACertificateOpenSshAccepts() throws Exception {
        SshCertificates ssh = new SshCertificates(home.resolve("ssh"), Clock.systemUTC(), random);
        SshPublicKeys.Certificate cert = ssh.renew(gateway, leaseUntil);
        assertThat(cert.keyId()).isEqualTo("laptop-1");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ssh.identityFile()))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ssh.certificateFile()))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve("ssh")))).isEqualTo("rwx------");
        assertThat(Files.readString(ssh.identityFile())).startsWith("-----BEGIN OPENSSH PRIVATE KEY-----");

        // OpenSSH reads the private key and finds the same public key, and reads the certificate
        Proc.Result pub = Proc.run(home, "ssh-keygen", "-y", "-f", ssh.identityFile().toString());
        assertThat(pub.exit()).as(pub.all()).isZero();
        assertThat(pub.stdout().strip()).startsWith(Files.readString(ssh.publicKeyFile()).split(" ")[0] + " "
                + Files.readString(ssh.publicKeyFile()).split(" ")[1]);
        Proc.Result l = Proc.run(home, "ssh-keygen", "-L", "-f", ssh.certificateFile().toString());
        assertThat(l.exit()).as(l.all()).isZero();
        assertThat(l.stdout()).contains("Key ID: \"laptop-1\"").contains("permit-port-forwarding");

        // the same key next time
        String before = Files.readString(ssh.publicKeyFile());
        ssh.renew(gateway, leaseUntil);
        assertThat(Files.readString(ssh.publicKeyFile())).isEqualTo(before);
        assertThat(calls).hasValue(2);
    }

    @Test
    void needsRenewal_whenNoneOrTheLeaseGrewBeyondIt() throws Exception {
        SshCertificates ssh = new SshCertificates(home.resolve("ssh"), Clock.systemUTC(), random);
        assertThat(ssh.needsRenewal(leaseUntil)).isTrue();
        ssh.renew(gateway, leaseUntil);
        assertThat(ssh.needsRenewal(leaseUntil)).isFalse();
        assertThat(ssh.needsRenewal(leaseUntil.plus(Duration.ofMinutes(10)))).isTrue();
    }

    @Test
    void renew_refusedOrLongerThanTheLease_isAnErrorAndKeepsTheOldCertificate() throws Exception {
        SshCertificates ssh = new SshCertificates(home.resolve("ssh"), Clock.systemUTC(), random);
        assertThatThrownBy(() -> ssh.renew((p, t, b) -> new SshCertificates.Answer(403, "posture.no_lease",
                "no live posture lease\n"), leaseUntil))
                .isInstanceOf(SshCertificates.RefusedException.class)
                .hasMessage("the gateway refused an SSH certificate: 403 posture.no_lease: no live posture lease");
        assertThat(ssh.certificateFile()).doesNotExist();
        assertThatThrownBy(() -> ssh.renew(gateway, leaseUntil.minus(Duration.ofMinutes(5))))
                .hasMessageContaining("expected no later than the lease end");
        assertThat(ssh.certificateFile()).doesNotExist();
        assertThatThrownBy(() -> ssh.renew((p, t, b) -> new SshCertificates.Answer(200, null, "hello"), leaseUntil))
                .hasMessageStartingWith("expected an OpenSSH certificate line, found \"hello\"");
    }

    @Test
    void sshConfig_namesTheIdentityAndTheJump() {
        SshCertificates ssh = new SshCertificates(home.resolve("ssh"), Clock.systemUTC(), random);
        String cfg = ssh.sshConfig("postern", "gw.example.org", 2222, "alice", "*.admin.internal", null);
        assertThat(cfg).contains("Host postern\n  HostName gw.example.org\n  Port 2222\n  User alice\n")
                .contains("  IdentityFile " + ssh.identityFile() + "\n")
                .contains("  CertificateFile " + ssh.certificateFile() + "\n")
                .contains("Host *.admin.internal\n  ProxyJump postern\n");
    }
}
