package org.postern.gateway.ssh;

import java.net.InetSocketAddress;
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

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;
import org.postern.tls.TlsContexts;

/**
 * A device talking to the gateway's tunnel listener over mTLS with the JDK's HTTP client: posture
 * challenge and evidence (signed with the device key), and {@code POST /v1/ssh/certificate}.
 */
final class DeviceClient {

    static final ObjectMapper JSON = new ObjectMapper();

    /** Where the gateway is and the root devices trust. */
    record Gateway(InetSocketAddress address, X509Certificate root) {
    }

    /** An HTTP answer. */
    record Answer(int status, String reason, String body) {
    }

    final Gateway gateway;
    final String id;
    final KeyPair keys;
    final X509Certificate cert;
    private final HttpClient http;

    DeviceClient(Gateway gateway, String id, KeyPair keys, X509Certificate cert, List<X509Certificate> chain) throws Exception {
        this.gateway = gateway;
        this.id = id;
        this.keys = keys;
        this.cert = cert;
        List<X509Certificate> full = new ArrayList<>();
        full.add(cert);
        full.addAll(chain);
        SSLContext ctx = TlsContexts.client().identity(keys.getPrivate(), full).trust(List.of(gateway.root())).jdk();
        this.http = HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** A challenge, then evidence of a compliant (or, with false, an unencrypted) laptop: the decision. */
    JsonNode posture(boolean compliant) throws Exception {
        Answer c = post("/v1/posture/challenge", "application/json", "");
        if (c.status() != 200) {
            throw new AssertionError("challenge: " + c);
        }
        String nonce = JSON.readTree(c.body()).get("nonce").asText();
        String jws = Evidence.sign(claims(id, nonce, Instant.now(), compliant), keys.getPrivate(), cert);
        Answer e = post("/v1/posture/evidence", "application/json", "{\"evidence\":\"" + jws + "\"}");
        if (e.status() != 200) {
            throw new AssertionError("evidence: " + e);
        }
        return JSON.readTree(e.body());
    }

    /** The certificate line the gateway issues for {@code publicKeyLine}; fails on a refusal. */
    String sshCertificate(String publicKeyLine) throws Exception {
        Answer a = post("/v1/ssh/certificate", "text/plain", publicKeyLine);
        if (a.status() != 200) {
            throw new AssertionError("ssh certificate: " + a);
        }
        return a.body().strip();
    }

    Answer post(String path, String type, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                        + gateway.address().getPort() + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", type)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.headers().firstValue("Postern-Reason").orElse(null), r.body());
    }

    /** A patched Debian 12 laptop; encrypted when {@code compliant}, else with a clear-text disk. */
    static PostureClaims claims(String deviceId, String nonce, Instant now, boolean compliant) {
        DiskFacts disk = compliant ? new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null)
                : new DiskFacts("/", false, null, false, DiskFacts.FULLY_DECRYPTED, null);
        return PostureClaims.of(nonce, deviceId, now, new AgentInfo("postern-agent", "0.1.0"),
                new PostureClaims.Facts(new OsFacts(OsFacts.LINUX, "debian", "12", null, "6.1.0-18-amd64"), disk,
                        new PatchFacts(now.minus(Duration.ofDays(2)), 0, null, false),
                        PostureClaims.NATIVE, List.of()));
    }
}
