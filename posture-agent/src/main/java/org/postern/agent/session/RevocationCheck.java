package org.postern.agent.session;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.cert.CRLReason;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.postern.agent.enroll.EstClient;

/**
 * Asks the CA's CRL what became of this laptop's certificate, after the gateway refused it: the
 * gateway serves the CRL ({@code GET /pki/crl}) to anyone over TLS, so the agent fetches it without
 * presenting the refused certificate, trusting only the CA pinned at enrollment, and checks the
 * CRL's signature with the issuing CA it was given at enrollment.
 */
final class RevocationCheck {
    static final String CRL_PATH = "/pki/crl";
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** The CRL's entry for a certificate: the reason ({@code CERTIFICATE_HOLD} for a suspension) and since when. */
    record Entry(CRLReason reason, Instant since) {
    }

    private RevocationCheck() {
    }

    /**
     * The CRL's entry for {@code cert}; empty when the CRL does not name it.
     *
     * @throws IOException the CRL could not be fetched, read or verified
     */
    static Optional<Entry> lookup(URI gateway, String caSha256, List<X509Certificate> caChain, X509Certificate cert)
            throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().sslContext(EstClient.pinned(caSha256)).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(TIMEOUT).build();
        URI uri = URI.create(gateway.getScheme() + "://" + gateway.getRawAuthority() + CRL_PATH);
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + uri + ": expected 200 and a CRL, found " + r.statusCode());
        }
        X509CRL crl;
        try {
            crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(r.body()));
        } catch (GeneralSecurityException e) {
            throw new IOException("GET " + uri + ": not a DER CRL: " + e.getMessage(), e);
        }
        return entry(crl, caChain, cert.getSerialNumber(), cert.getIssuerX500Principal());
    }

    /** The entry for {@code serial} in a CRL signed by the CA in {@code caChain} that issued the certificate. */
    static Optional<Entry> entry(X509CRL crl, List<X509Certificate> caChain, BigInteger serial,
                                 javax.security.auth.x500.X500Principal issuer) throws IOException {
        X509Certificate ca = caChain.stream().filter(c -> c.getSubjectX500Principal().equals(issuer)).findFirst()
                .orElseThrow(() -> new IOException("CRL: the issuing CA " + issuer + " is not in the chain kept at enrollment"));
        if (!crl.getIssuerX500Principal().equals(issuer)) {
            throw new IOException("CRL: expected one issued by " + issuer + ", found " + crl.getIssuerX500Principal());
        }
        try {
            crl.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IOException("CRL: its signature does not verify with " + issuer + ": " + e.getMessage(), e);
        }
        X509CRLEntry e = crl.getRevokedCertificate(serial);
        if (e == null) {
            return Optional.empty();
        }
        CRLReason reason = e.getRevocationReason();
        return Optional.of(new Entry(reason == null ? CRLReason.UNSPECIFIED : reason, e.getRevocationDate().toInstant()));
    }
}
