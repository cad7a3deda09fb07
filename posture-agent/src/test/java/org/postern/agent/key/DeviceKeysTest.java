package org.postern.agent.key;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.agent.state.AgentHome;
import org.postern.pki.testing.TestPki;

/** Where the device key lives: what enrollment.json records, and the errors before a token is touched. */
class DeviceKeysTest {
    @TempDir
    Path tmp;
    static X509Certificate cert;

    @BeforeAll
    static void someCertificate() {
        try (TestPki pki = TestPki.create()) {
            cert = pki.ca.root();
        }
    }

    @Test
    void sibling_alternatesBetweenAliasAndNext() {
        DeviceKeys.Pkcs11Key k = new DeviceKeys.Pkcs11Key(Path.of("/c"), "postern-device", null);
        assertThat(k.sibling()).isEqualTo("postern-device-next");
        assertThat(k.withAlias(k.sibling()).sibling()).isEqualTo("postern-device");
    }

    @Test
    void pkcs11Key_blankAlias_isRefusedNamingTheOption() {
        assertThatThrownBy(() -> new DeviceKeys.Pkcs11Key(Path.of("/c"), " ", null))
                .hasMessage("--pkcs11-alias: expected a key label like postern-device, found \" \"");
    }

    @Test
    void enrollment_fileKey_isNotRecordedAndReadsBackAsDeviceKey() throws Exception {
        AgentHome home = new AgentHome(tmp.resolve("a"));
        home.saveEnrollment(new AgentHome.Enrollment("https://gw", "ab", "laptop-1", Instant.EPOCH, home.fileKey()), cert(), List.of(cert()));
        assertThat(Files.readString(home.dir().resolve("enrollment.json"))).doesNotContain("\"key\"");
        assertThat(home.enrollment().orElseThrow().key()).isEqualTo(new DeviceKeys.FileKey(home.dir().resolve("device.key")));
        assertThat(home.enrolled()).isFalse(); // no device.key yet
    }

    @Test
    void enrollment_pkcs11Key_roundTripsWithoutThePin() throws Exception {
        AgentHome home = new AgentHome(tmp.resolve("b"));
        DeviceKeys.Pkcs11Key key = new DeviceKeys.Pkcs11Key(Path.of("/etc/postern/tpm.cfg"), "postern-device", Path.of("/run/pin"));
        home.saveEnrollment(new AgentHome.Enrollment("https://gw", "ab", "laptop-1", Instant.EPOCH, key), cert(), List.of(cert()));
        assertThat(Files.readString(home.dir().resolve("enrollment.json")))
                .contains("\"type\" : \"pkcs11\"", "\"config\" : \"/etc/postern/tpm.cfg\"", "\"alias\" : \"postern-device\"", "\"pinFile\" : \"/run/pin\"");
        assertThat(home.enrollment().orElseThrow().key()).isEqualTo(key);
        assertThat(home.enrolled()).isTrue();
        assertThat(key.describe()).isEqualTo("PKCS#11 token, alias postern-device (config /etc/postern/tpm.cfg)");

        home.saveRenewal(cert(), key.withAlias("postern-device-next"));
        assertThat(home.enrollment().orElseThrow().key()).isEqualTo(key.withAlias("postern-device-next"));
    }

    @Test
    void open_pkcs11WithoutPin_asksForEnvOrPinFile() {
        DeviceKeys.Pkcs11Key key = new DeviceKeys.Pkcs11Key(tmp.resolve("p11.cfg"), "postern-device", null);
        assertThatThrownBy(() -> DeviceKeyStore.open(key, Map.of()))
                .isInstanceOf(IOException.class)
                .hasMessage("the PKCS#11 token PIN: expected $POSTERN_AGENT_PIN or --pin-file FILE, found neither");
    }

    @Test
    void open_pkcs11MissingConfig_namesTheFile() {
        Path cfg = tmp.resolve("missing.cfg");
        DeviceKeys.Pkcs11Key key = new DeviceKeys.Pkcs11Key(cfg, "postern-device", null);
        assertThatThrownBy(() -> DeviceKeyStore.open(key, Map.of("POSTERN_AGENT_PIN", "1234")))
                .isInstanceOf(IOException.class)
                .hasMessage("--pkcs11: expected a readable SunPKCS11 configuration file, found nothing at " + cfg);
    }

    private static X509Certificate cert() {
        return cert;
    }
}
