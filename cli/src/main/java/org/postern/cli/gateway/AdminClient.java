package org.postern.cli.gateway;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.cli.Exit;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.tls.TlsContexts;

/**
 * Talks to a running gateway's admin endpoint with the JDK HTTP client: TLS 1.3, the CA chain as
 * the only trust anchor, an admin certificate and key as the client identity.
 */
final class AdminClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** An answer: status and the JSON body (an empty object when there was none). */
    record Reply(int status, JsonNode body) {
        String error() {
            return body.path("error").asText("HTTP " + status) + " (" + body.path("reason").asText("no reason code") + ")";
        }
    }

    private final URI base;
    private final HttpClient http;

    private AdminClient(URI base, HttpClient http) {
        this.base = base;
        this.http = http;
    }

    static AdminClient open(URI base, Path caChain, Path cert, Path key) {
        try {
            List<X509Certificate> chain = Pem.readCertificates(cert);
            if (chain.isEmpty()) {
                throw new Exit(Exit.USAGE, "--cert " + cert + ": expected a PEM certificate, found none");
            }
            PrivateKey pk = KeyFiles.readPlain(key);
            List<X509Certificate> anchors = Pem.readCertificates(caChain);
            SSLContext ctx = TlsContexts.client().identity(pk, chain).trust(anchors).jdk();
            HttpClient http = HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(TIMEOUT).build();
            return new AdminClient(base, http);
        } catch (IOException e) {
            throw new Exit(Exit.USAGE, "cannot read the admin certificate, key or CA chain: " + e.getMessage());
        } catch (IllegalStateException e) {
            throw new Exit(Exit.USAGE, "cannot use the admin certificate " + cert + " and key " + key + ": " + e.getMessage());
        }
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    Reply delete(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).DELETE());
    }

    private Reply send(HttpRequest.Builder b) {
        HttpRequest req = b.timeout(TIMEOUT).header("Accept", "application/json").build();
        HttpResponse<String> res;
        try {
            res = http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            throw new Exit(Exit.GATEWAY_DOWN, "cannot reach the gateway's admin endpoint at " + base
                    + " (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                    + "); is the gateway running? Start it with: postern gateway run --config gateway.yaml");
        } catch (SSLException e) {
            throw new Exit(Exit.REFUSED, "the admin endpoint at " + base + " refused the TLS handshake: " + e.getMessage()
                    + " (expected an admin certificate from this gateway's CA, issued by postern pki issue-admin)");
        } catch (IOException e) {
            throw new Exit(Exit.GATEWAY_DOWN, "the admin endpoint at " + base + " did not answer: " + e
                    + "; is the gateway running, and is this an admin certificate of its CA?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Exit(Exit.GATEWAY_DOWN, "interrupted while asking " + base);
        }
        JsonNode body;
        try {
            body = res.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(res.body());
        } catch (IOException e) {
            throw new Exit(Exit.UNAVAILABLE, base.resolve(req.uri().getPath()) + ": expected JSON, found: "
                    + res.body().substring(0, Math.min(200, res.body().length())));
        }
        return new Reply(res.statusCode(), body);
    }
}
