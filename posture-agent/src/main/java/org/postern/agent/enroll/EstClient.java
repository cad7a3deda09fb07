package org.postern.agent.enroll;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;

import javax.net.ssl.SSLContext;

import org.postern.agent.key.DeviceKey;
import org.postern.config.Secret;
import org.postern.tls.TlsContexts;

/**
 * The device side of EST (RFC 7030): fetch the CA chain, enroll with a one-time token, re-enroll
 * with the current certificate. Bodies are base64 DER, as the RFC says.
 */
public final class EstClient {
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private final URI base;
    private final HttpClient http;

    /** @param base the EST root, e.g. {@code https://gw.example:8443/.well-known/est/} */
    public EstClient(URI base, SSLContext tls) {
        this.base = base.toString().endsWith("/") ? base : URI.create(base + "/");
        this.http = HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
    }

    /** TLS that trusts only a chain containing the CA with this SHA-256 (first contact). */
    public static SSLContext pinned(String caSha256) {
        return TlsContexts.client().trust(new PinnedRootTrustManager(caSha256)).jdk();
    }

    /** TLS with the device's key and certificate, trusting the pinned CA (re-enrollment). */
    public static SSLContext withClientCertificate(String caSha256, KeyPair keys, List<X509Certificate> chain) {
        return TlsContexts.client().identity(keys.getPrivate(), chain).trust(new PinnedRootTrustManager(caSha256)).jdk();
    }

    /**
     * TLS with the device key wherever it lives (a token key cannot go into a PKCS12 store), trusting
     * the pinned CA (re-enrollment). The key manager offers this one key and nothing else.
     */
    public static SSLContext withDeviceKey(String caSha256, DeviceKey key, List<X509Certificate> chain) {
        return TlsContexts.client().identity(new DeviceKeyManager(key.privateKey(), chain))
                .trust(new PinnedRootTrustManager(caSha256)).jdk();
    }

    /** A PKCS#10 request for {@code keys}; the CA ignores the name for a first enrollment and checks it on re-enrollment. */
    public static byte[] csr(KeyPair keys, String deviceId) {
        try {
            return Pkcs10.request(keys.getPublic(), keys.getPrivate(), null, deviceId);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the CSR: " + e.getMessage(), e);
        }
    }

    /** A PKCS#10 request signed through the key's own provider (for a token key, inside the token). */
    public static byte[] csr(DeviceKey key, String deviceId) {
        try {
            return Pkcs10.request(key.publicKey(), key.privateKey(), key.provider(), deviceId);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the CSR with the device key: " + e.getMessage(), e);
        }
    }

    public List<X509Certificate> cacerts() throws IOException, InterruptedException {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(base.resolve("cacerts")).timeout(TIMEOUT).GET().build());
        return certificates(r, "cacerts");
    }

    /**
     * simpleenroll with the token as HTTP Basic password (user = device id), or as a Bearer token
     * when the device id is not known (the token names the device).
     */
    public X509Certificate simpleEnroll(String deviceId, Secret token, byte[] csrDer) throws IOException, InterruptedException {
        String authorization = deviceId != null
                ? "Basic " + Base64.getEncoder().encodeToString((deviceId + ":" + token.reveal()).getBytes(StandardCharsets.UTF_8))
                : "Bearer " + token.reveal();
        HttpRequest req = HttpRequest.newBuilder(base.resolve("simpleenroll")).timeout(TIMEOUT)
                .header("Content-Type", "application/pkcs10")
                .header("Authorization", authorization)
                .POST(HttpRequest.BodyPublishers.ofString(Base64.getMimeEncoder().encodeToString(csrDer)))
                .build();
        return certificates(send(req), "simpleenroll").getFirst();
    }

    /** simplereenroll: the TLS client certificate (set up in this client's SSLContext) authenticates. */
    public X509Certificate simpleReenroll(byte[] csrDer) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(base.resolve("simplereenroll")).timeout(TIMEOUT)
                .header("Content-Type", "application/pkcs10")
                .POST(HttpRequest.BodyPublishers.ofString(Base64.getMimeEncoder().encodeToString(csrDer)))
                .build();
        return certificates(send(req), "simplereenroll").getFirst();
    }

    private HttpResponse<byte[]> send(HttpRequest req) throws IOException, InterruptedException {
        return http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    }

    private static List<X509Certificate> certificates(HttpResponse<byte[]> r, String op) throws IOException {
        if (r.statusCode() != 200) {
            String reason = r.headers().firstValue("Postern-Reason").orElse("-");
            throw new EstException(r.statusCode(), reason, "EST " + op + " refused: HTTP " + r.statusCode() + " " + reason + ": "
                    + new String(r.body(), StandardCharsets.UTF_8).strip());
        }
        try {
            byte[] der = Base64.getMimeDecoder().decode(r.body());
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(der));
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : certs) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IOException("EST " + op + ": expected certificates in the PKCS#7 answer, found none");
            }
            return out;
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException("EST " + op + ": expected a base64 PKCS#7 certs-only answer, found something else: " + e.getMessage(), e);
        }
    }

    /** The server refused; {@link #reason()} is its {@code Postern-Reason}. */
    public static final class EstException extends IOException {
        private final int status;
        private final String reason;

        EstException(int status, String reason, String message) {
            super(message);
            this.status = status;
            this.reason = reason;
        }

        public int status() {
            return status;
        }

        public String reason() {
            return reason;
        }
    }
}
