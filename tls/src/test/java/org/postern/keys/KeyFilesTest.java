package org.postern.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Security;
import java.util.Base64;

import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyFilesTest {
    /**
     * postern demo: with BouncyCastle registered (MINA SSHD registers it when the gateway runs in the
     * same JVM) the device key came back as a BC "ECDSA" key, JSSE sent no client certificate and
     * the gateway answered tls.client_cert_required.
     */
    @Test
    void readPlain_bouncyCastleRegistered_stillGivesTheJdkEcKey(@TempDir Path dir) throws Exception {
        KeyPair kp = KeyFiles.generateP256(new SecureRandom());
        Path file = Files.writeString(dir.resolve("device.key"), "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(kp.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
        boolean added = Security.addProvider(new BouncyCastleProvider()) != -1;
        try {
            PrivateKey key = KeyFiles.readPlain(file);
            assertThat(key.getAlgorithm()).isEqualTo("EC");
            assertThat(((java.security.interfaces.ECPrivateKey) key).getS()).isEqualTo(((java.security.interfaces.ECPrivateKey) kp.getPrivate()).getS());
        } finally {
            if (added) {
                Security.removeProvider(BouncyCastleProvider.PROVIDER_NAME);
            }
        }
    }
}
