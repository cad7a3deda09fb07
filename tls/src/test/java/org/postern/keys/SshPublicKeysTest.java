package org.postern.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.apache.sshd.certificate.OpenSshCertificateBuilder;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.loader.openssh.OpenSSHKeyPairResourceParser;
import org.apache.sshd.common.util.io.resource.PathResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** SshPublicKeys writes and reads what MINA SSHD (the bastion's library) writes and reads. */
class SshPublicKeysTest {
    final SecureRandom random = new SecureRandom();

    @ParameterizedTest
    @ValueSource(strings = {"secp256r1", "secp384r1", "secp521r1", "Ed25519", "RSA"})
    void line_isWhatSshdWrites_andParsesBack(String kind) throws Exception {
        KeyPair kp = keys(kind);
        String line = SshPublicKeys.line(kp.getPublic());
        if (!kind.equals("Ed25519")) { // MINA SSHD needs an extra library for Ed25519
            assertThat(line).isEqualTo(PublicKeyEntry.toString(kp.getPublic()));
        }
        assertThat(SshPublicKeys.parse(line + " alice@laptop")).isEqualTo(kp.getPublic());
    }

    @Test
    void parse_namesWhatWasFound() {
        assertThatThrownBy(() -> SshPublicKeys.parse(""))
                .hasMessageStartingWith("SSH public key: expected one OpenSSH line").hasMessageEndingWith("found nothing");
        assertThatThrownBy(() -> SshPublicKeys.parse("ssh-rsa not-base64!"))
                .hasMessageStartingWith("SSH public key: expected an OpenSSH line").hasMessageContaining("ssh-rsa not-base64!");
        assertThatThrownBy(() -> SshPublicKeys.parse("ssh-dss AAAAB3NzaC1kc3MAAAA="))
                .hasMessage("SSH public key: expected a supported key type, found \"ssh-dss\"");
    }

    @Test
    void privateKeyFile_isReadBySshd_asTheSamePair() throws Exception {
        KeyPair kp = keys("secp256r1");
        byte[] file = SshPublicKeys.privateKeyFile(kp, "postern-agent", random);
        assertThat(new String(file)).startsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n").endsWith("-----END OPENSSH PRIVATE KEY-----\n");
        Collection<KeyPair> read = OpenSSHKeyPairResourceParser.INSTANCE.loadKeyPairs(null,
                new PathResource(java.nio.file.Path.of("id_ecdsa")), null, new ByteArrayInputStream(file));
        assertThat(read).hasSize(1);
        KeyPair back = read.iterator().next();
        assertThat(back.getPublic()).isEqualTo(kp.getPublic());
        assertThat(((java.security.interfaces.ECPrivateKey) back.getPrivate()).getS())
                .isEqualTo(((java.security.interfaces.ECPrivateKey) kp.getPrivate()).getS());
    }

    @Test
    void parseCertificate_readsWhatSshdSigns() throws Exception {
        KeyPair ca = keys("secp256r1");
        KeyPair user = keys("secp256r1");
        Instant after = Instant.parse("2026-01-01T00:00:00Z");
        Instant before = after.plusSeconds(600);
        OpenSshCertificate cert = OpenSshCertificateBuilder.userCertificate()
                .publicKey(user.getPublic()).serial(42).id("laptop-1").principals(List.of("alice"))
                .extensions(Map.of("permit-port-forwarding", "")).validAfter(after).validBefore(before)
                .sign(ca, "ecdsa-sha2-nistp256");
        SshPublicKeys.Certificate c = SshPublicKeys.parseCertificate(PublicKeyEntry.toString(cert) + " laptop-1");
        assertThat(c.publicKey()).isEqualTo(user.getPublic());
        assertThat(c.type()).isEqualTo(SshPublicKeys.Certificate.Type.USER);
        assertThat(c.serial()).isEqualTo(42);
        assertThat(c.keyId()).isEqualTo("laptop-1");
        assertThat(c.principals()).containsExactly("alice");
        assertThat(c.validAfter()).isEqualTo(after);
        assertThat(c.validBefore()).isEqualTo(before);
        assertThatThrownBy(() -> SshPublicKeys.parseCertificate(SshPublicKeys.line(user.getPublic())))
                .hasMessageStartingWith("expected an OpenSSH certificate line, found \"ecdsa-sha2-nistp256 ");
    }

    private KeyPair keys(String kind) throws Exception {
        return switch (kind) {
            case "Ed25519" -> KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            case "RSA" -> {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048, random);
                yield g.generateKeyPair();
            }
            default -> {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                g.initialize(new ECGenParameterSpec(kind), random);
                yield g.generateKeyPair();
            }
        };
    }
}
