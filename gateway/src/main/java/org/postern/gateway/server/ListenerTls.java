package org.postern.gateway.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.time.Clock;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslProvider;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.reload.ConfigReloader;
import org.postern.gateway.reload.LiveSettings;
import org.postern.gateway.tls.DeviceTrustManager;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.server.ServerCredentials;
import org.postern.tls.TlsContexts;

/**
 * What a reload may change, built from settings: the access policy and both listeners' TLS
 * contexts (docs/gateway.md "Reload"). The tunnel asks for a client certificate but does not
 * require one (enrollment comes without), and decides it inside the handshake with the device
 * CA and the live revocation view; the admin listener requires one chaining to the CA (that it
 * is an admin's, and still good, is AdminIdentityHandler's check after the handshake).
 */
final class ListenerTls implements ConfigReloader.SnapshotFactory {
    private final PkiService service;
    private final CertificateAuthority ca;
    private final GatewaySettings started;
    private final DeviceTrustManager deviceTrust;
    private final ForbiddenAddresses forbidden;
    private final Clock clock;
    private final ServerCredentials selfIssued; // null when started with certificate files
    // the admin listener's own when it listens on another host than the tunnel (loopback by default): the
    // CLI checks the admin endpoint's name, so a tunnel on 192.0.2.1 cannot lend its certificate to 127.0.0.1
    private final ServerCredentials selfIssuedAdmin;
    private volatile ServerCredentials current; // of the last build: the VPN mode's HTTP/3 listener starts with it

    ListenerTls(GatewaySettings started, PkiService service, CertificateAuthority ca, DeviceTrustManager deviceTrust,
                ForbiddenAddresses forbidden, Clock clock) throws IOException {
        this.started = started;
        this.service = service;
        this.ca = ca;
        this.deviceTrust = deviceTrust;
        this.forbidden = forbidden;
        this.clock = clock;
        this.selfIssued = started.tls().selfIssued() ? issue(started) : null;
        this.selfIssuedAdmin = started.tls().selfIssued() ? issueAdmin(started, selfIssued) : null;
    }

    @Override
    public LiveSettings.Snapshot build(GatewaySettings s) throws IOException, GeneralSecurityException {
        ServerCredentials creds = s.tls().selfIssued() ? selfIssued : credentials(s.tls(), clock);
        if (creds == null) { // started with files, reloaded without: the PKI issues one now
            creds = issue(s);
        }
        current = creds;
        ServerCredentials admin = !s.tls().selfIssued() ? creds : selfIssuedAdmin != null ? selfIssuedAdmin : issueAdmin(s, creds);
        return new LiveSettings.Snapshot(s, AccessPolicy.of(s.access(), forbidden, clock),
                TlsContexts.server(creds.key(), creds.certificate(), ca.chain()).provider(provider(s.tls()))
                        .clientAuth(ClientAuth.OPTIONAL).trust(deviceTrust)
                        .protocols(s.tls().protocols(), s.tls().cipherSuites()).alpn(GatewayInitializer.ALPN).build(),
                TlsContexts.server(admin.key(), admin.certificate(), ca.chain()).provider(provider(s.tls()))
                        .clientAuth(ClientAuth.REQUIRE).trust(ca.chain()).build());
    }

    /** The certificate and key of the last {@link #build} (a reload does not reach the HTTP/3 listener yet). */
    ServerCredentials current() {
        return current;
    }

    /** The admin listener's self-issued certificate: the tunnel's when both listen on one host, else one for its own host. */
    private ServerCredentials issueAdmin(GatewaySettings s, ServerCredentials tunnel) throws IOException {
        String host = s.listeners().admin().host();
        return host.equals(s.listeners().tunnel().host()) ? tunnel
                : ServerCredentials.selfIssued(service, ca, started.dataDir(), host, clock.instant());
    }

    private ServerCredentials issue(GatewaySettings s) throws IOException {
        return ServerCredentials.selfIssued(service, ca, started.dataDir(), s.listeners().tunnel().host(), clock.instant());
    }

    /** Reads configured certificate and key files and checks they belong together and are in date. */
    static ServerCredentials credentials(GatewaySettings.Tls tls, Clock clock) throws IOException, GeneralSecurityException {
        ServerCredentials creds;
        try {
            creds = ServerCredentials.fromFiles(tls.certificate(), tls.key());
        } catch (IOException | RuntimeException e) {
            throw new IOException("tls.certificate/tls.key: cannot read " + tls.certificate() + " and " + tls.key()
                    + ": " + e.getMessage(), e);
        }
        Signature sign = Signature.getInstance(creds.key() instanceof ECKey ? "SHA256withECDSA" : "SHA256withRSA");
        byte[] probe = "postern key check".getBytes(StandardCharsets.US_ASCII);
        sign.initSign(creds.key());
        sign.update(probe);
        byte[] sig = sign.sign();
        sign.initVerify(creds.certificate().getPublicKey());
        sign.update(probe);
        if (!sign.verify(sig)) {
            throw new IOException("tls.key: expected the private key of " + creds.certificate().getSubjectX500Principal()
                    + " (" + tls.certificate() + "), found the key of another certificate in " + tls.key());
        }
        if (creds.certificate().getNotAfter().toInstant().isBefore(clock.instant())) {
            throw new IOException("tls.certificate: expected a certificate in date, found one that expired at "
                    + creds.certificate().getNotAfter().toInstant() + " in " + tls.certificate());
        }
        return creds;
    }

    private static SslProvider provider(GatewaySettings.Tls tls) {
        return switch (tls.provider()) {
            case OPENSSL -> SslProvider.OPENSSL;
            case JDK -> SslProvider.JDK;
            case AUTO -> TlsContexts.provider();
        };
    }
}
