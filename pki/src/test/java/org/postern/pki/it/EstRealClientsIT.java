package org.postern.pki.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postern.keys.Pem;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPki;

/** EST, OCSP and CRL against a real PkiServer on 127.0.0.1, driven by curl, openssl and strongSwan's pki. */
class EstRealClientsIT {
    private static TestPki pki;

    @BeforeAll
    static void start() {
        pki = TestPki.create();
        Proc.requireTools(pki.workDir("tools"));
        pki.startServer();
    }

    @AfterAll
    static void stop() {
        if (pki != null) {
            pki.close();
        }
    }

    private static String token(String device) {
        return pki.registerForToken(device);
    }

    /** openssl key + CSR, curl simpleenroll with Basic auth, openssl pkcs7 + verify: the device certificate file. */
    private static Path enrollWithCurl(RealClients c, String device) {
        Path csr = c.keyAndCsr("device", device);
        RealClients.Response r = c.curl("/.well-known/est/simpleenroll", "--data-binary", "@" + csr,
                "-H", "Content-Type: application/pkcs10", "--user", device + ":" + token(device));
        assertThat(r.header("Content-Type")).startsWith("application/pkcs7-mime");
        return c.certificatesFrom(r, "device");
    }

    @Test
    void simpleenroll_curlWithBasicAuth_issuesCertificateOpensslVerifies() {
        RealClients c = new RealClients(pki, pki.workDir("basic"));
        Path cert = enrollWithCurl(c, "laptop-1");

        assertThat(c.verify(cert).ok().stdout()).isEqualTo(cert + ": OK\n");
        assertThat(c.subject(cert)).isEqualTo("subject=CN=laptop-1,O=" + TestPki.CA_NAME);
        assertThat(c.pubkey(cert, false)).isEqualTo(c.pubkey(c.dir.resolve("device.key"), true));
        String text = c.openssl("x509", "-in", cert.toString(), "-noout", "-text").ok().stdout();
        assertThat(text).contains("URI:urn:postern:device:laptop-1", "TLS Web Client Authentication", "CA:FALSE",
                "OCSP - URI:https://127.0.0.1:" + pki.port + "/pki/ocsp", "URI:https://127.0.0.1:" + pki.port + "/pki/crl");
        assertThat(pki.registry.device("laptop-1").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
    }

    @Test
    void simpleenroll_curlWithBearer_issuesCertificate() {
        RealClients c = new RealClients(pki, pki.workDir("bearer"));
        Path csr = c.keyAndCsr("device", "whatever");
        RealClients.Response r = c.curl("/.well-known/est/simpleenroll", "--data-binary", "@" + csr,
                "-H", "Content-Type: application/pkcs10", "-H", "Authorization: Bearer " + token("laptop-bearer"));
        Path cert = c.certificatesFrom(r, "device");
        assertThat(c.verify(cert).ok().stdout()).endsWith(": OK\n");
        assertThat(c.subject(cert)).as("name from the registry, not the CSR").isEqualTo("subject=CN=laptop-bearer,O=" + TestPki.CA_NAME);
    }

    @Test
    void cacerts_curl_returnsIssuingAndRootChain() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("cacerts"));
        Path chain = c.certificatesFrom(c.curl("/.well-known/est/cacerts"), "cacerts");
        var certs = Pem.readCertificates(chain);
        assertThat(certs).containsExactlyInAnyOrder(pki.ca.issuing().certificate(), pki.ca.root()); // a DER SET OF has no order
    }

    @Test
    // Regression: strongSwan rejected the BER (indefinite-length) PKCS#7 that BouncyCastle emits by default.
    void strongswanPkiEst_enrollsWithBasicAuth_outputVerifies() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("strongswan"));
        c.keyAndCsr("device", "laptop-2");
        // strongSwan's own TLS stack stops at TLS 1.2 unless told otherwise; the PKI listener is TLS 1.3 only
        Path conf = c.dir.resolve("strongswan.conf");
        Files.writeString(conf, "libtls {\n  version_max = 1.3\n}\n");
        Proc.Result r = Proc.run(c.dir, Proc.DEFAULT_TIMEOUT, java.util.Map.of("STRONGSWAN_CONF", conf.toString()), "pki", "--est", "--url", pki.url(""), // pki appends /.well-known/est/simpleenroll itself
                "--cacert", pki.rootFile().toString(), "--cacert", pki.issuingFile().toString(),
                "--in", "device.der", "--userpass", "laptop-2:" + token("laptop-2"), "--outform", "pem").ok();
        Path cert = c.dir.resolve("device.crt");
        Files.writeString(cert, r.stdout());
        assertThat(c.verify(cert).ok().stdout()).isEqualTo(cert + ": OK\n");
        assertThat(c.subject(cert)).isEqualTo("subject=CN=laptop-2,O=" + TestPki.CA_NAME);
    }

    @Test
    void ocsp_opensslOcsp_reportsGoodThenRevoked_withNonceEchoed() {
        RealClients c = new RealClients(pki, pki.workDir("ocsp"));
        Path cert = enrollWithCurl(c, "laptop-ocsp");

        Proc.Result good = ocsp(c, cert);
        assertThat(good.stdout()).contains(cert + ": good");
        assertThat(good.all()).contains("Response verify OK").doesNotContain("nonce");

        pki.service.revoke("laptop-ocsp", RevocationReason.keyCompromise, "test");
        Proc.Result revoked = ocsp(c, cert);
        assertThat(revoked.stdout()).contains(cert + ": revoked", "Reason: keyCompromise");
        assertThat(revoked.all()).contains("Response verify OK").doesNotContain("nonce");
    }

    @Test
    void ocsp_getWithBase64RequestInPath_answersRevokedAndOpensslVerifiesIt() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("ocsp-get"));
        Path cert = enrollWithCurl(c, "laptop-ocsp-get");
        pki.service.revoke("laptop-ocsp-get", RevocationReason.retired, "test");
        c.openssl("ocsp", "-issuer", pki.issuingFile().toString(), "-cert", cert.toString(), "-reqout", "req.der").ok();
        String encoded = java.net.URLEncoder.encode(java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(c.dir.resolve("req.der"))),
                java.nio.charset.StandardCharsets.US_ASCII);
        RealClients.Response r = c.curl("/pki/ocsp/" + encoded);  // RFC 6960 Appendix A.1 GET form
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).isEqualTo("application/ocsp-response");
        Files.write(c.dir.resolve("resp.der"), r.body());
        // -respin with -cert builds a fresh request (with its own nonce), so compare the echoed nonce by hand
        Proc.Result text = c.openssl("ocsp", "-respin", "resp.der", "-issuer", pki.issuingFile().toString(),
                "-cert", cert.toString(), "-CAfile", pki.chainFile().toString(), "-no_nonce", "-resp_text").ok();
        String sent = c.openssl("ocsp", "-reqin", "req.der", "-req_text").ok().stdout();
        String nonce = sent.substring(sent.indexOf("OCSP Nonce:")).lines().skip(1).findFirst().orElseThrow().strip();
        assertThat(text.stdout()).contains("OCSP Nonce:").contains(nonce);
        assertThat(text.stdout()).contains(cert + ": revoked", "Reason: cessationOfOperation");
        assertThat(text.all()).contains("Response verify OK");
    }

    /** openssl ocsp straight at the https URL (OpenSSL 3 speaks TLS here), with a nonce (the default). */
    private static Proc.Result ocsp(RealClients c, Path cert) {
        return c.openssl("ocsp", "-issuer", pki.issuingFile().toString(), "-cert", cert.toString(),
                "-url", pki.url("/pki/ocsp"), "-CAfile", pki.chainFile().toString(), "-timeout", "20").ok();
    }

    @Test
    void crl_curlThenOpensslCrl_listsRevokedSerial() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("crl"));
        Path cert = enrollWithCurl(c, "laptop-crl");
        BigInteger serial = Pem.readCertificate(cert).getSerialNumber();
        pki.service.revoke("laptop-crl", RevocationReason.lost, "test");

        RealClients.Response r = c.curl("/pki/crl");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).isEqualTo("application/pkix-crl");
        Files.write(c.dir.resolve("crl.der"), r.body());
        String text = c.openssl("crl", "-inform", "DER", "-in", "crl.der", "-text", "-noout").ok().stdout();
        assertThat(text).contains("Serial Number: " + c.serialHex(cert), "Key Compromise");
        assertThat(c.serialHex(cert)).isEqualToIgnoringCase(opensslHex(serial));
        c.openssl("crl", "-inform", "DER", "-in", "crl.der", "-noout", "-CAfile", pki.chainFile().toString()).ok();
    }

    private static String opensslHex(BigInteger serial) {
        String h = serial.toString(16).toUpperCase();
        return h.length() % 2 == 1 ? "0" + h : h;
    }

    @Test
    void simplereenroll_curlWithClientCert_renewsAndRekeysSameDevice() throws Exception {
        RealClients c = new RealClients(pki, pki.workDir("reenroll"));
        Path first = enrollWithCurl(c, "laptop-renew");

        c.csr("renew", "device.key", "laptop-renew");
        Path renewed = c.certificatesFrom(c.curl("/.well-known/est/simplereenroll", "--cert", first.toString(),
                "--key", "device.key", "--data-binary", "@renew.b64", "-H", "Content-Type: application/pkcs10"), "renewed");
        assertThat(c.verify(renewed).ok().stdout()).endsWith(": OK\n");
        assertThat(c.subject(renewed)).isEqualTo(c.subject(first));
        assertThat(c.serialHex(renewed)).isNotEqualTo(c.serialHex(first));
        assertThat(c.pubkey(renewed, false)).isEqualTo(c.pubkey(first, false));

        c.keyAndCsr("rekey", "laptop-renew");
        Path rekeyed = c.certificatesFrom(c.curl("/.well-known/est/simplereenroll", "--cert", renewed.toString(),
                "--key", "device.key", "--data-binary", "@rekey.b64", "-H", "Content-Type: application/pkcs10"), "rekeyed");
        assertThat(c.verify(rekeyed).ok().stdout()).endsWith(": OK\n");
        assertThat(c.subject(rekeyed)).isEqualTo(c.subject(first));
        assertThat(c.pubkey(rekeyed, false)).isEqualTo(c.pubkey(c.dir.resolve("rekey.key"), true)).isNotEqualTo(c.pubkey(first, false));
        assertThat(pki.registry.certificatesOf("laptop-renew")).hasSize(3);
        assertThat(pki.lastAudit("pki.renew").path("rekey").asBoolean()).isTrue();
    }

    /**
     * {@code pki serve} offers no ALPN, so {@code curl --http2} (which asks for h2 by ALPN) goes on
     * in HTTP/1.1 and re-enrolls as usual. (Over h2, on the gateway's tunnel listener: EstHttp2IT.)
     */
    @Test
    void simplereenroll_curlAskingForHttp2_fallsBackToHttp11AndRenews() {
        RealClients c = new RealClients(pki, pki.workDir("reenroll-h2"));
        Path first = enrollWithCurl(c, "laptop-renew-h2");
        c.csr("renew", "device.key", "laptop-renew-h2");
        RealClients.Response r = c.curl("/.well-known/est/simplereenroll", "--http2", "--cert", first.toString(),
                "--key", "device.key", "--data-binary", "@renew.b64", "-H", "Content-Type: application/pkcs10");
        assertThat(r.headers().getFirst()).startsWith("HTTP/1.1 200");
        Path renewed = c.certificatesFrom(r, "renewed");
        assertThat(c.verify(renewed).ok().stdout()).endsWith(": OK\n");
        assertThat(c.subject(renewed)).isEqualTo(c.subject(first));
        assertThat(c.serialHex(renewed)).isNotEqualTo(c.serialHex(first));

        RealClients.Response anonymous = c.curl("/.well-known/est/simplereenroll", "--http2",
                "--data-binary", "@renew.b64", "-H", "Content-Type: application/pkcs10");
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.header("Postern-Reason")).isEqualTo("est.no_client_cert");
    }
}
