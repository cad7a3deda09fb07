package org.postern.pki.server;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.postern.pki.PkiService;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;

/** The TLS server key and certificate of a PKI or gateway listener. */
public record ServerCredentials(PrivateKey key, X509Certificate certificate) {

    /** Reads a configured certificate (PEM, leaf first) and unencrypted key. */
    public static ServerCredentials fromFiles(Path certificate, Path key) throws IOException {
        return new ServerCredentials(KeyFiles.readPlain(key), Pem.readCertificate(certificate));
    }

    /**
     * With no configured certificate the server issues itself one for its listen host, kept in
     * {@code DATA/server/HOST.crt} and reused while it has a month left and comes from this CA.
     */
    public static ServerCredentials selfIssued(PkiService service, CertificateAuthority ca, Path dataDir, String host, Instant now) throws IOException {
        Path dir = dataDir.resolve("server");
        String base = host.replace(':', '_');
        Path crt = dir.resolve(base + ".crt");
        Path keyFile = dir.resolve(base + ".key");
        if (Files.exists(crt) && Files.exists(keyFile)) {
            X509Certificate existing = Pem.readCertificate(crt);
            if (existing.getNotAfter().toInstant().isAfter(now.plus(Duration.ofDays(30)))
                    && existing.getIssuerX500Principal().equals(ca.issuing().certificate().getSubjectX500Principal())) {
                return new ServerCredentials(KeyFiles.readPlain(keyFile), existing);
            }
        }
        boolean ip = isIpLiteral(host);
        PkiService.Issued issued = service.issueServer(ip ? List.of() : List.of(host), ip ? List.of(host) : List.of(), "pki-serve");
        issued.writeTo(dir, base, ca.chain());
        return new ServerCredentials(issued.keys().getPrivate(), issued.certificate());
    }

    static boolean isIpLiteral(String host) {
        if (host.matches("[0-9.]+") || host.contains(":")) {
            try {
                InetAddress.ofLiteral(host);
                return true;
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        return false;
    }
}
