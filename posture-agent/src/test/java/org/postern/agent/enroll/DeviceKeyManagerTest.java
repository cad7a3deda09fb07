package org.postern.agent.enroll;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.keys.KeyFiles;
import org.postern.pki.testing.TestPki;

/** The key manager that offers the device key and nothing else. */
class DeviceKeyManagerTest {
    @Test
    void chooseClientAlias_ecRequested_offersTheDeviceKeyOnly() {
        KeyPair kp = KeyFiles.generateP256(new SecureRandom());
        try (TestPki pki = TestPki.create()) {
            DeviceKeyManager km = new DeviceKeyManager(kp.getPrivate(), List.of(pki.ca.root()));
            assertThat(km.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, null)).isEqualTo("device");
            assertThat(km.chooseClientAlias(new String[] {"EC_EC"}, null, null)).isEqualTo("device");
            assertThat(km.chooseEngineClientAlias(new String[] {"RSA", "RSASSA-PSS"}, null, null)).isNull();
            assertThat(km.getPrivateKey("device")).isSameAs(kp.getPrivate());
            assertThat(km.getPrivateKey("other")).isNull();
            assertThat(km.getCertificateChain("device")).containsExactly(pki.ca.root());
            assertThat(km.chooseServerAlias("EC", null, null)).isNull();
        }
    }

    /** Regression: after MINA SSHD registered BouncyCastle, reconnects failed with certificate_required. */
    @Test
    void chooseClientAlias_bouncyCastleEcdsaKey_isAnEcKey() throws Exception {
        KeyPair kp = java.security.KeyPairGenerator.getInstance("ECDSA", new org.bouncycastle.jce.provider.BouncyCastleProvider())
                .generateKeyPair();
        assertThat(kp.getPrivate().getAlgorithm()).isEqualTo("ECDSA");
        try (TestPki pki = TestPki.create()) {
            DeviceKeyManager km = new DeviceKeyManager(kp.getPrivate(), List.of(pki.ca.root()));
            assertThat(km.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, null)).isEqualTo("device");
            assertThat(km.chooseEngineClientAlias(new String[] {"RSA"}, null, null)).isNull();
            assertThat(km.getPrivateKey("device").getAlgorithm()).isEqualTo("EC");
            assertThat(km.getPrivateKey("device").getClass().getName()).startsWith("sun.security.ec.");
            assertThat(km.getPrivateKey("device").getEncoded()).isEqualTo(kp.getPrivate().getEncoded());
        }
    }
}
