package org.postern.gateway.admin;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLException;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

/**
 * The admin listener's TLS: TLS 1.3 only, the gateway's server certificate, and a client
 * certificate REQUIRED and chaining to the CA. That the certificate is an admin certificate, and
 * still good, is {@link AdminIdentityHandler}'s check after the handshake.
 */
public final class AdminTls {
    private AdminTls() {
    }

    public static SslContext context(PrivateKey key, X509Certificate certificate, List<X509Certificate> caChain,
                                     SslProvider provider) throws SSLException {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(certificate);
        chain.addAll(caChain);
        return SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new))
                .sslProvider(provider)
                .protocols("TLSv1.3")
                .clientAuth(ClientAuth.REQUIRE)
                .trustManager(caChain.toArray(X509Certificate[]::new))
                .build();
    }
}
