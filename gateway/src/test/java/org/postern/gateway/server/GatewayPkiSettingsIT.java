package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.GatewaySettings;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPki;

/**
 * A laptop enrolling at the gateway gets the CRL and OCSP URLs and the lifetime IT security set
 * in the pki.yaml that gateway.yaml names ({@code pki.settings}), not the gateway's own address:
 * enrolled with curl over EST, read back with {@code openssl x509}.
 */
class GatewayPkiSettingsIT {
    TestPki pki;
    GatewayServer gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    @Test
    void enrollAtTheGateway_certificateCarriesThePkiYamlUrlsAndLifetime() throws Exception {
        Path cert = enrollThroughGatewayWith("""
                revocation:
                  crlUrl: http://crl.pki.example.org/devices.crl
                  ocspUrl: http://ocsp.pki.example.org/
                certificates:
                  deviceLifetime: 30d
                """);
        Path dir = cert.getParent();
        assertThat(openssl(dir, "x509", "-in", cert.toString(), "-noout", "-ocsp_uri").strip())
                .isEqualTo("http://ocsp.pki.example.org/");
        assertThat(openssl(dir, "x509", "-in", cert.toString(), "-noout", "-ext", "crlDistributionPoints"))
                .contains("URI:http://crl.pki.example.org/devices.crl").doesNotContain("127.0.0.1");
        ZonedDateTime notAfter = notAfter(openssl(dir, "x509", "-in", cert.toString(), "-noout", "-enddate"));
        assertThat(Duration.between(ZonedDateTime.now(ZoneOffset.UTC), notAfter))
                .isBetween(Duration.ofDays(29), Duration.ofDays(30).plusHours(1));
    }

    @Test
    void enrollAtTheGateway_withoutPkiSettings_urlsNameTheTunnelListenerThatServesThem() throws Exception {
        Path cert = enrollThroughGatewayWith(null);
        String tunnel = gateway.address().getAddress().getHostAddress() + ":" + gateway.address().getPort();
        assertThat(openssl(cert.getParent(), "x509", "-in", cert.toString(), "-noout", "-ocsp_uri").strip())
                .isEqualTo("https://" + tunnel + "/pki/ocsp");
    }

    /** Starts a gateway from a gateway.yaml (with {@code pki.settings} when pkiYaml is given) and enrolls laptop-1 with curl. */
    private Path enrollThroughGatewayWith(String pkiYaml) throws Exception {
        Proc.requireTools(Path.of("."));
        pki = TestPki.create();
        Path work = pki.workDir("gw-pki");
        StringBuilder yaml = new StringBuilder("""
                gateway:
                  id: gw-pki-test
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                audit:
                  minFree: 1MiB
                """.formatted(pki.dataDir, GatewayServerIT.freePort(), GatewayServerIT.freePort(), GatewayServerIT.freePort()));
        if (pkiYaml != null) {
            Files.writeString(work.resolve("pki.yaml"), pkiYaml);
            yaml.append("pki:\n  settings: pki.yaml\n"); // relative to gateway.yaml
        }
        Path config = Files.writeString(work.resolve("gateway.yaml"), yaml);
        gateway = GatewayServer.start(GatewaySettings.load(config), new KeyProtection.Passphrase(TestPki.PASSPHRASE));

        String token = pki.registerForToken("laptop-1");
        openssl(work, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "laptop.key");
        openssl(work, "req", "-new", "-key", "laptop.key", "-subj", "/CN=laptop-1", "-outform", "DER", "-out", "laptop.der");
        openssl(work, "base64", "-in", "laptop.der", "-out", "laptop.b64");
        String url = "https://127.0.0.1:" + gateway.address().getPort() + "/.well-known/est/simpleenroll";
        Proc.Result enrolled = Proc.run(work, Duration.ofSeconds(30), "curl", "-sS", "--fail-with-body", "--max-time", "20",
                "--cacert", pki.chainFile().toString(), "--user", "laptop-1:" + token,
                "-H", "Content-Type: application/pkcs10", "-H", "Content-Transfer-Encoding: base64",
                "--data-binary", "@laptop.b64", "-o", "laptop.p7.b64", url);
        assertThat(enrolled.exit()).as(enrolled.all()).isZero();
        openssl(work, "base64", "-d", "-A", "-in", "laptop.p7.b64", "-out", "laptop.p7"); // RFC 8951: one line
        openssl(work, "pkcs7", "-inform", "DER", "-in", "laptop.p7", "-print_certs", "-out", "laptop.crt");
        return work.resolve("laptop.crt");
    }

    private static String openssl(Path dir, String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "openssl";
        System.arraycopy(args, 0, cmd, 1, args.length);
        return Proc.run(dir, cmd).ok().stdout();
    }

    private static ZonedDateTime notAfter(String line) {
        String date = line.strip().substring("notAfter=".length()).replaceAll(" +", " ");
        return ZonedDateTime.parse(date, DateTimeFormatter.ofPattern("MMM d HH:mm:ss yyyy z", Locale.ROOT));
    }
}
