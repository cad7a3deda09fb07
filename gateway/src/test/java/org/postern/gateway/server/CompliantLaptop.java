package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.pki.PkiService;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.Evidence;
import org.postern.tls.TlsContexts;

/** A laptop for gateway ITs: enrolled at the test CA, with a compliant posture lease at the gateway. */
final class CompliantLaptop {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CompliantLaptop() {
    }

    /**
     * Enrolls laptop-1 (alice, staff), proves a compliant posture over the gateway's challenge and
     * evidence endpoints, and returns the TLS context that speaks for it.
     */
    static SSLContext enroll(TestPki pki, GatewayServer gateway) throws Exception {
        return enroll(pki, pki.service, gateway);
    }

    /** As {@link #enroll(TestPki, GatewayServer)}, registered through {@code service}: the gateway's registry when it is not the test PKI's. */
    static SSLContext enroll(TestPki pki, PkiService service, GatewayServer gateway) throws Exception {
        PkiService.NewDevice added = service.addDevice("laptop-1", "alice", List.of("staff"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = service.enroll("laptop-1", added.token(), TestCsrs.body(keys, "laptop-1"), "test");
        SSLContext device = tls(pki, keys, cert);
        try (HttpClient client = HttpClient.newBuilder().sslContext(device).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> c = post(client, gateway, "/v1/posture/challenge", "");
            assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
            String nonce = JSON.readTree(c.body()).get("nonce").asText();
            String jws = Evidence.sign(GatewayServerIT.claims("laptop-1", nonce, Instant.now()), keys.getPrivate(), cert);
            HttpResponse<String> e = post(client, gateway, "/v1/posture/evidence", "{\"evidence\":\"" + jws + "\"}");
            assertThat(JSON.readTree(e.body()).get("compliant").asBoolean()).as(e.body()).isTrue();
        }
        return device;
    }

    /** A client context trusting the test CA; with {@code keys} and {@code cert}, presenting them (else anonymous). */
    static SSLContext tls(TestPki pki, KeyPair keys, X509Certificate cert) throws Exception {
        TlsContexts.Client client = TlsContexts.client().trust(List.of(pki.ca.root()));
        if (keys != null) {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(cert);
            chain.addAll(pki.ca.chain());
            client.identity(keys.getPrivate(), chain);
        }
        return client.jdk();
    }

    private static HttpResponse<String> post(HttpClient client, GatewayServer gateway, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + gateway.address().getPort() + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
