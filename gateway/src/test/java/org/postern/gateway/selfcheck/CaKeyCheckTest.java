package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.keys.KeyFiles;
import org.postern.pki.testing.TestPki;

class CaKeyCheckTest {
    @TempDir
    Path tmp;

    @Test
    void encryptedKeys_isOneWarning_naming_pkcs11() throws Exception {
        try (TestPki pki = TestPki.create()) {
            List<Finding> f = new CaKeyCheck(pki.dataDir).run();
            Finding w = Findings.only(f, Severity.WARNING);
            assertThat(w.message()).startsWith("CA keys encrypted with a passphrase in " + pki.store.dir() + " (root.key, issuing.key")
                    .contains("the passphrase's strength cannot be checked");
            assertThat(w.fix()).startsWith("prefer a PKCS#11 token or HSM (postern pki init --pkcs11 CONFIG)")
                    .contains("keep root.key off the gateway host");
            assertThat(Findings.of(f, Severity.CRITICAL)).isEmpty();
        }
    }

    @Test
    void plainIssuingKey_isCritical() throws Exception {
        try (TestPki pki = TestPki.create()) {
            Path issuing = pki.store.dir().resolve("issuing.key");
            Files.write(issuing, KeyFiles.plainPem(KeyFiles.generateP256(new SecureRandom()).getPrivate()));
            Finding c = Findings.only(new CaKeyCheck(pki.dataDir).run(), Severity.CRITICAL);
            assertThat(c.message()).isEqualTo(issuing + " is an unencrypted private key: whoever reads the file can issue"
                    + " certificates");
            assertThat(c.fix()).contains("postern pki init --pkcs11 CONFIG");
        }
    }

    @Test
    void pkcs11_isInfo() throws Exception {
        Path ca = Files.createDirectories(tmp.resolve("ca"));
        Files.writeString(ca.resolve("ca.properties"), "keys=pkcs11\npkcs11.config=/etc/postern/softhsm.cfg\n");
        List<Finding> f = new CaKeyCheck(tmp).run();
        assertThat(f).singleElement().satisfies(i -> {
            assertThat(i.severity()).isEqualTo(Severity.INFO);
            assertThat(i.message()).isEqualTo("the CA keys are held in a PKCS#11 token (/etc/postern/softhsm.cfg)");
        });
    }

    @Test
    void noCa_isCritical() throws Exception {
        Finding c = Findings.only(new CaKeyCheck(tmp).run(), Severity.CRITICAL);
        assertThat(c.message()).startsWith("no CA in " + tmp);
        assertThat(c.fix()).isEqualTo("create one with: postern pki init --dir " + tmp);
    }
}
