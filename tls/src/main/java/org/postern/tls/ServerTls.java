package org.postern.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

/**
 * Server TLS contexts. The PKI listener's: TLS 1.3 only, BoringSSL (netty-tcnative) when it loads
 * and the JDK otherwise, client certificates optional (simpleenroll has none yet; simplereenroll
 * needs one) and checked against the device CA. The gateway's: the same, with its own trust
 * manager deciding on client certificates inside the handshake and the protocols and suites of
 * its configuration.
 */
public final class ServerTls {
    private ServerTls() {
    }

    public static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    public static SslContext context(PrivateKey key, X509Certificate cert, List<X509Certificate> caChain, SslProvider provider) throws SSLException {
        return context(key, cert, caChain, provider, List.of());
    }

    /**
     * As {@link #context(PrivateKey, X509Certificate, List, SslProvider)}, offering {@code alpn}
     * (e.g. {@code h2}, {@code http/1.1}, in order of preference) by ALPN; empty: no ALPN. A client
     * that offers none of them, or no ALPN at all, goes on without one (the server then speaks the
     * last, its fallback).
     */
    public static SslContext context(PrivateKey key, X509Certificate cert, List<X509Certificate> caChain, SslProvider provider,
                                     List<String> alpn) throws SSLException {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(cert);
        chain.addAll(caChain);
        return SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new))
                .sslProvider(provider)
                .protocols("TLSv1.3")
                .clientAuth(ClientAuth.OPTIONAL)
                .trustManager(caChain.toArray(X509Certificate[]::new))
                .applicationProtocolConfig(alpn(alpn))
                .build();
    }

    /** ALPN offering {@code protocols} in order, or none when empty. */
    private static ApplicationProtocolConfig alpn(List<String> protocols) {
        return protocols.isEmpty() ? null : new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN,
                // the only behaviours both providers support
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, protocols);
    }

    /**
     * A server context whose client certificates (optional) are decided by {@code clientTrust},
     * for either provider: the JDK calls it during the handshake, netty-tcnative from BoringSSL's
     * verify callback. Only {@code protocols} (e.g. {@code TLSv1.3}, {@code TLSv1.2}) and
     * {@code cipherSuites} (IANA names) are enabled.
     */
    public static SslContext context(PrivateKey key, X509Certificate cert, List<X509Certificate> caChain, SslProvider provider,
                                     X509ExtendedTrustManager clientTrust, List<String> protocols,
                                     List<String> cipherSuites, List<String> alpn) throws SSLException {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(cert);
        chain.addAll(caChain);
        return SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new))
                .sslProvider(provider)
                .protocols(protocols.toArray(String[]::new))
                .ciphers(cipherSuites)
                .clientAuth(ClientAuth.OPTIONAL)
                .trustManager(clientTrust)
                .applicationProtocolConfig(alpn(alpn))
                .build();
    }
}
