package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.keys.KeyFiles;
import org.postern.pki.PkiService;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;

/**
 * EST re-enrollment over HTTP/2 on the gateway's tunnel listener, with real {@code curl --http2}
 * (ALPN h2) and the device's certificate, with both TLS providers: the request is on a stream, a
 * child channel of the TLS connection, and the client certificate is the connection's.
 */
class EstHttp2IT {

    TestPki pki;
    GatewayServer gateway;
    Path work;
    X509Certificate cert;
    Path certFile;
    Path keyFile;
    Path csrFile;

    void start(GatewaySettings.Tls.Provider provider) throws Exception {
        assertThat(Path.of("/usr/bin/curl")).as("this test drives curl; install curl").exists();
        pki = TestPki.create();
        work = pki.workDir("est-h2");
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings settings = new GatewaySettings("gw-est-h2", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", GatewayServerIT.freePort()),
                        new HostPort("127.0.0.1", GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", GatewayServerIT.freePort())),
                new GatewaySettings.Tls(null, null, provider, false), PosturePolicy.defaults(), new AccessRules(List.of()),
                d.limits(), new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"),
                        GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1), Duration.ofSeconds(60)));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE));
        PkiService.NewDevice added = pki.service.addDevice("laptop-1", "alice", List.of("staff"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        cert = pki.service.enroll("laptop-1", added.token(), TestCsrs.body(keys, "laptop-1"), "test");
        certFile = TestPki.writePem(work.resolve("laptop.crt"), cert);
        keyFile = Files.write(work.resolve("laptop.key"), KeyFiles.plainPem(keys.getPrivate()));
        csrFile = Files.write(work.resolve("renew.b64"), TestCsrs.body(keys, "laptop-1")); // renewal: same key
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GatewaySettings.Tls.Provider.class, names = {"OPENSSL", "JDK"})
    void simplereenroll_curlHttp2WithDeviceCertificate_returnsARenewedCertificate(GatewaySettings.Tls.Provider provider)
            throws Exception {
        start(provider);
        Curl r = reenroll("--cert", certFile.toString(), "--key", keyFile.toString());
        assertThat(r.version()).as(r.toString()).isEqualTo("2");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.header("content-type")).isEqualTo("application/pkcs7-mime; smime-type=certs-only");

        List<X509Certificate> certs = certsOnly(r.body());
        assertThat(certs).hasSize(1);
        X509Certificate renewed = certs.getFirst();
        assertThat(renewed.getSubjectX500Principal()).isEqualTo(cert.getSubjectX500Principal());
        assertThat(renewed.getSerialNumber()).isNotEqualTo(cert.getSerialNumber());
        assertThat(renewed.getPublicKey()).isEqualTo(cert.getPublicKey());
        renewed.verify(pki.ca.issuing().certificate().getPublicKey());
        assertThat(pki.registry.certificatesOf("laptop-1")).hasSize(2);
    }

    @ParameterizedTest
    @EnumSource(value = GatewaySettings.Tls.Provider.class, names = {"OPENSSL", "JDK"})
    void simplereenroll_curlHttp2WithoutCertificate_is401(GatewaySettings.Tls.Provider provider) throws Exception {
        start(provider);
        Curl r = reenroll();
        assertThat(r.version()).as(r.toString()).isEqualTo("2");
        assertThat(r.status()).as(r.toString()).isEqualTo(401);
        assertThat(r.header("postern-reason")).isEqualTo("est.no_client_cert");
        assertThat(pki.registry.certificatesOf("laptop-1")).hasSize(1);
    }

    // ---- helpers --------------------------------------------------------------------------------

    /** What curl saw: HTTP version, status, headers (the last response's), body. */
    record Curl(String version, int status, List<String> headers, byte[] body, String err) {
        String header(String name) {
            String prefix = name.toLowerCase(Locale.ROOT) + ":";
            return headers.stream().filter(h -> h.toLowerCase(Locale.ROOT).startsWith(prefix))
                    .map(h -> h.substring(prefix.length()).strip()).reduce((a, b) -> b).orElse(null);
        }

        @Override
        public String toString() {
            return "HTTP/" + version + " " + status + " " + headers + " " + new String(body, StandardCharsets.UTF_8) + "\n" + err;
        }
    }

    /** {@code curl --http2 … --data-binary @renew.b64 https://gw/.well-known/est/simplereenroll}. */
    Curl reenroll(String... tlsArgs) throws Exception {
        Path headers = work.resolve("curl.headers");
        Path body = work.resolve("curl.body");
        Path out = work.resolve("curl.out");
        Path err = work.resolve("curl.err");
        Files.deleteIfExists(headers);
        Files.deleteIfExists(body);
        List<String> cmd = new ArrayList<>(List.of("curl", "--http2", "-sS", "-v", "--max-time", "20",
                "--cacert", pki.chainFile().toString(), "-D", headers.toString(), "-o", body.toString(),
                "-w", "%{http_version} %{http_code}",
                "-H", "Content-Type: application/pkcs10", "--data-binary", "@" + csrFile));
        cmd.addAll(List.of(tlsArgs));
        cmd.add("https://127.0.0.1:" + gateway.address().getPort() + "/.well-known/est/simplereenroll");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("curl did not finish in 30 s: " + Files.readString(err));
        }
        assertThat(p.exitValue()).as(Files.readString(err)).isZero();
        String[] w = Files.readString(out).strip().split(" ");
        return new Curl(w[0], Integer.parseInt(w[1]), Files.readAllLines(headers, StandardCharsets.ISO_8859_1),
                Files.readAllBytes(body), Files.readString(err));
    }

    /** The certificates of a base64 certs-only PKCS#7 (RFC 8951: no line breaks). */
    static List<X509Certificate> certsOnly(byte[] base64) throws Exception {
        CMSSignedData p7 = new CMSSignedData(Base64.getMimeDecoder().decode(base64));
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (X509CertificateHolder h : p7.getCertificates().getMatches(null)) {
            out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(h.getEncoded())));
        }
        return out;
    }
}
