package org.postern.audit.siem;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.postern.config.gateway.GatewaySettings;
import org.postern.keys.KeyFiles;

/**
 * The TLS client side towards the collector: its certificate must chain to {@code audit.siem.ca}
 * and name the configured host (DNS or IP SAN); TLS 1.3, 1.2 with AEAD suites only if allowed;
 * the optional client certificate for collectors that ask for one.
 */
final class SiemTls {
    private final SSLContext context;
    private final List<String> protocols;
    private final List<String> suites;

    private SiemTls(SSLContext context, List<String> protocols, List<String> suites) {
        this.context = context;
        this.protocols = protocols;
        this.suites = suites;
    }

    static SiemTls of(GatewaySettings.Siem s) throws IOException {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            for (Certificate c : readCertificates(s.ca())) {
                trust.setCertificateEntry("ca-" + i++, c);
            }
            if (i == 0) {
                throw new IOException("audit.siem.ca: expected PEM certificates in " + s.ca() + ", found none");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (s.clientCertificate() != null) {
                Collection<? extends Certificate> chain = readCertificates(s.clientCertificate());
                if (chain.isEmpty()) {
                    throw new IOException("audit.siem.clientCertificate: expected a PEM certificate in "
                            + s.clientCertificate() + ", found none");
                }
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                char[] none = new char[0];
                keys.setKeyEntry("client", KeyFiles.readPlain(s.clientKey()), none, chain.toArray(Certificate[]::new));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, none);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf != null ? kmf.getKeyManagers() : null, tmf.getTrustManagers(), null);
            // The protocols and suites of the one TLS policy, as the gateway's listener applies it (no key or CA of its own here).
            GatewaySettings.Tls tlsRules = new GatewaySettings.Tls(null, null, GatewaySettings.Tls.Provider.JDK, s.allowTls12());
            return new SiemTls(ctx, tlsRules.protocols(), tlsRules.cipherSuites());
        } catch (GeneralSecurityException e) {
            throw new IOException("audit.siem: cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** Wraps a connected socket; the handshake checks the collector's chain and name. */
    SSLSocket wrap(java.net.Socket raw, String host, int port) throws IOException {
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(raw, host, port, true);
        SSLParameters p = s.getSSLParameters();
        p.setProtocols(protocols.toArray(String[]::new));
        p.setCipherSuites(suites.toArray(String[]::new));
        p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host we dialled
        s.setSSLParameters(p);
        s.setUseClientMode(true);
        return s;
    }

    private static Collection<? extends Certificate> readCertificates(java.nio.file.Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            for (Certificate c : certs) {
                if (!(c instanceof X509Certificate)) {
                    throw new IOException(file + ": expected X.509 certificates, found " + c.getType());
                }
            }
            return certs;
        } catch (java.security.cert.CertificateException e) {
            throw new IOException(file + ": expected PEM certificates, found something else: " + e.getMessage(), e);
        }
    }
}
