package org.postern.pki.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.Secret;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.Proc;

class SshUserCaTest {

    static final KeyProtection PASS = new KeyProtection.Passphrase(Secret.of("correct horse battery staple"));

    @TempDir
    Path data;

    final SecureRandom random = new SecureRandom();

    @Test
    void loadOrCreate_createsEncrypted0600Key_andReloadsTheSameKey() throws Exception {
        SshUserCa ca = SshUserCa.loadOrCreate(data, PASS, random);
        Path key = data.resolve("ca/ssh-user-ca.key");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        assertThat(Files.readString(key)).contains("ENCRYPTED PRIVATE KEY");
        assertThat(SshUserCa.readPublicLine(data)).isEqualTo(ca.publicLine()).startsWith("ecdsa-sha2-nistp256 AAAA");

        SshUserCa again = SshUserCa.loadOrCreate(data, PASS, random);
        assertThat(again.publicKey()).isEqualTo(ca.publicKey());
        assertThatThrownBy(() -> SshUserCa.loadOrCreate(data,
                new KeyProtection.Passphrase(Secret.of("the wrong passphrase")), random))
                .isInstanceOf(KeyFiles.WrongPassphraseException.class);
    }

    @Test
    void readPublicLine_withoutCa_saysHowToCreateOne() {
        assertThatThrownBy(() -> SshUserCa.readPublicLine(data))
                .hasMessageContaining("no SSH user CA in " + data)
                .hasMessageContaining("postern pki ssh-ca-pubkey");
    }

    @Test
    void issue_userCertificate_readByOpenSshKeygen() throws Exception {
        SshUserCa ca = SshUserCa.loadOrCreate(data, PASS, random);
        KeyPair user = KeyFiles.generateP256(random);
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        SshUserCa.Issued issued = ca.issue(user.getPublic(), "laptop-1", "alice", now, now.plus(Duration.ofMinutes(10)));

        OpenSshCertificate cert = issued.certificate();
        assertThat(cert.getType()).isEqualTo(OpenSshCertificate.Type.USER);
        assertThat(cert.getId()).isEqualTo("laptop-1");
        assertThat(cert.getPrincipals()).containsExactly("alice");
        assertThat(cert.getExtensionsMap()).containsOnlyKeys("permit-port-forwarding");
        assertThat(cert.getCriticalOptions()).isEmpty();
        assertThat(cert.getCaPubKey()).isEqualTo(ca.publicKey());
        assertThat(cert.getCertPubKey()).isEqualTo(user.getPublic());
        assertThat(cert.getValidBefore()).isEqualTo(now.plus(Duration.ofMinutes(10)).getEpochSecond());

        Path file = Files.writeString(data.resolve("id-cert.pub"), issued.line() + "\n");
        Proc.Result r = Proc.run(data, "ssh-keygen", "-L", "-f", file.toString());
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.stdout())
                .contains("Type: ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate")
                .contains("Key ID: \"laptop-1\"")
                .contains(ca.fingerprint())
                .containsPattern("Principals: \\n\\s+alice\\n")
                .containsPattern("Extensions: \\n\\s+permit-port-forwarding\\n")
                .contains("Critical Options: (none)");
    }

    @Test
    void issue_neverLongerThanTheCap_andRefusesBadInput() {
        SshUserCa ca = SshUserCa.ephemeral(random);
        KeyPair user = KeyFiles.generateP256(random);
        Instant now = Instant.parse("2026-11-30T06:00:00Z");
        var issued = ca.issue(user.getPublic(), "laptop-1", "alice", now, now.plus(Duration.ofDays(30)));
        assertThat(issued.certificate().getValidBefore()).isEqualTo(now.plus(SshUserCa.MAX_LIFETIME).getEpochSecond());

        assertThatThrownBy(() -> ca.issue(user.getPublic(), "laptop-1", "alice", now, now))
                .hasMessageContaining("expected a validity end after");
        assertThatThrownBy(() -> ca.issue(user.getPublic(), "laptop-1", "al ice", now, now.plusSeconds(60)))
                .hasMessage("SSH principal: expected a login name without spaces or commas, found \"al ice\"");
        assertThatThrownBy(() -> ca.issue(issued.certificate(), "laptop-1", "alice", now, now.plusSeconds(60)))
                .hasMessageContaining("found a certificate");
    }

    @Test
    void parsePublicKey_roundTripsAndNamesWhatWasFound() {
        KeyPair user = KeyFiles.generateP256(random);
        String line = PublicKeyEntry.toString(user.getPublic()) + " alice@laptop";
        assertThat(SshUserCa.parsePublicKey(line)).isEqualTo(user.getPublic());
        assertThatThrownBy(() -> SshUserCa.parsePublicKey(""))
                .hasMessageStartingWith("SSH public key: expected one OpenSSH line").hasMessageEndingWith("found nothing");
        assertThatThrownBy(() -> SshUserCa.parsePublicKey("ssh-rsa not-base64!"))
                .hasMessageStartingWith("SSH public key: expected");
    }
}
