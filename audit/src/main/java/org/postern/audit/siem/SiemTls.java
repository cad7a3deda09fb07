package org.postern.audit.siem;

import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import org.postern.config.gateway.GatewaySettings;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.tls.TlsContexts;

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
        List<X509Certificate> anchors = certificates("audit.siem.ca", s.ca());
        TlsContexts.Client client = TlsContexts.client().trust(anchors);
        if (s.clientCertificate() != null) {
            client.identity(KeyFiles.readPlain(s.clientKey()), certificates("audit.siem.clientCertificate", s.clientCertificate()));
        }
        // the TLS 1.3 context also speaks 1.2 when the socket enables it: wrap() sets the policy's protocols and suites
        return new SiemTls(client.jdk(), GatewaySettings.Tls.protocols(s.allowTls12()),
                GatewaySettings.Tls.cipherSuites(s.allowTls12()));
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

    private static List<X509Certificate> certificates(String key, Path file) throws IOException {
        try {
            return Pem.readCertificates(file);
        } catch (IOException | RuntimeException e) {
            throw new IOException(key + ": expected PEM certificates in " + file + ", found: " + e.getMessage(), e);
        }
    }
}
