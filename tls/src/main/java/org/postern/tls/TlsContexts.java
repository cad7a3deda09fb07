package org.postern.tls;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslX509KeyManagerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import org.jspecify.annotations.Nullable;
import org.postern.keys.KeyFiles;

/**
 * Every TLS context Postern builds, with one policy: TLS 1.3 only unless a server's configuration
 * names other protocols and suites; ALPN offered in order of preference, going on without one when
 * the peer offers none; client certificates not asked for, optional or required.
 *
 * <pre>{@code
 * SslContext admin = TlsContexts.server(key, chain).trust(caChain).clientAuth(ClientAuth.REQUIRE).build();
 * SSLContext device = TlsContexts.client().identity(key, chain).trust(anchors).jdk();
 * SslContext agent = TlsContexts.client().provider(SslProvider.OPENSSL).identity(tokenKeys, pkcs11)
 *         .trust(pinned).checkHostName().alpn(List.of("h2")).netty();
 * }</pre>
 *
 * A client identity may be a key and chain (put in a PKCS#12 store, the JDK's key manager chooses)
 * or any {@link X509KeyManager}: a device key inside a PKCS#11 token cannot leave it, so only a key
 * manager that hands JSSE the token's key object can use it. A Netty client may run on BoringSSL
 * ({@link Client#provider}) with such a key too: BoringSSL gets the chain, and the handshake
 * signature is made in Java by the key's provider ({@link JcaSigningKeyMethod}).
 */
public final class TlsContexts {
    /** The one protocol Postern speaks unless a configuration allows more. */
    public static final String TLS_1_3 = "TLSv1.3";

    private TlsContexts() {
    }

    /** BoringSSL (netty-tcnative) when it loads, the JDK otherwise. */
    public static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /** A server presenting {@code key} with {@code chain} (its certificate first, then the CA chain). */
    public static Server server(PrivateKey key, List<X509Certificate> chain) {
        return new Server(key, chain);
    }

    /** A server presenting {@code key} with its {@code certificate} followed by {@code caChain}. */
    public static Server server(PrivateKey key, X509Certificate certificate, List<X509Certificate> caChain) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(certificate);
        chain.addAll(caChain);
        return new Server(key, chain);
    }

    /** A TLS 1.3 client, by default without a certificate and trusting nothing: set {@link Client#trust}. */
    public static Client client() {
        return new Client();
    }

    /** The peer's certificate (the first of its chain), or empty when it sent none or the handshake has not finished. */
    public static Optional<X509Certificate> peerCertificate(SSLSession session) {
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? Optional.of(x) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    /** The peer's certificate on a channel whose pipeline has an {@link SslHandler}; empty without one. */
    public static Optional<X509Certificate> peerCertificate(ChannelPipeline pipeline) {
        SslHandler ssl = pipeline.get(SslHandler.class);
        return ssl == null ? Optional.empty() : peerCertificate(ssl.engine().getSession());
    }

    /** ALPN offering {@code protocols} in order, or none when empty. */
    private static ApplicationProtocolConfig alpnConfig(List<String> protocols) {
        return protocols.isEmpty() ? null : new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN,
                // the only behaviours both providers support
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, protocols);
    }

    /** A trust manager over exactly these anchors (PKIX, no revocation checking). */
    public static X509TrustManager trustManager(List<X509Certificate> anchors) {
        if (anchors.isEmpty()) {
            throw new IllegalArgumentException("expected at least one trust anchor, found none");
        }
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < anchors.size(); i++) {
                trust.setCertificateEntry("ca-" + i, anchors.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("the JDK's trust manager factory made no X.509 trust manager");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot set up trust in " + anchors.size() + " CA certificate(s): " + e.getMessage(), e);
        }
    }

    /**
     * {@code chainTrust} (a pinned root) followed by the HTTPS host name check against {@code host}:
     * for a client whose TLS is not built here and whose engine does not tell the trust manager
     * the host it dialled (netty's QUIC).
     */
    public static X509ExtendedTrustManager checkingHostName(X509TrustManager chainTrust, String host) {
        return new HostNameTrustManager(chainTrust, Objects.requireNonNull(host, "host"));
    }

    /**
     * The JDK's key manager offering {@code key} with {@code chain} (its certificate first). A
     * BouncyCastle "ECDSA" key is first made the JDK's "EC" key ({@link KeyFiles#jdkKey}), which
     * is the only kind the JDK's key manager offers for an EC certificate.
     */
    public static X509KeyManager keyManager(PrivateKey key, List<X509Certificate> chain) {
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("expected a certificate chain for the key, found none");
        }
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            char[] none = new char[0];
            ks.setKeyEntry("identity", KeyFiles.jdkKey(key), none, chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, none);
            for (KeyManager km : kmf.getKeyManagers()) {
                if (km instanceof X509KeyManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("the JDK's key manager factory made no X.509 key manager");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot use the key for " + chain.getFirst().getSubjectX500Principal()
                    + " in TLS: " + e.getMessage(), e);
        }
    }

    /** A server context: Netty's, for either provider. */
    public static final class Server {
        private final PrivateKey key;
        private final List<X509Certificate> chain;
        private SslProvider provider = SslProvider.JDK;
        private ClientAuth clientAuth = ClientAuth.NONE;
        private List<X509Certificate> trustAnchors = List.of();
        private @Nullable X509TrustManager trustManager;
        private List<String> protocols = List.of(TLS_1_3);
        private @Nullable List<String> cipherSuites;
        private List<String> alpn = List.of();

        private Server(PrivateKey key, List<X509Certificate> chain) {
            this.key = Objects.requireNonNull(key, "key");
            if (chain.isEmpty()) {
                throw new IllegalArgumentException("expected the server certificate chain, found none");
            }
            this.chain = List.copyOf(chain);
        }

        public Server provider(SslProvider provider) {
            this.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /** Whether to ask for a client certificate: {@code NONE} (the default), {@code OPTIONAL} or {@code REQUIRE}. */
        public Server clientAuth(ClientAuth clientAuth) {
            this.clientAuth = Objects.requireNonNull(clientAuth, "clientAuth");
            return this;
        }

        /** Client certificates must chain to one of these. */
        public Server trust(List<X509Certificate> anchors) {
            this.trustAnchors = List.copyOf(anchors);
            this.trustManager = null;
            return this;
        }

        /**
         * Client certificates are decided by {@code clientTrust}, for either provider: the JDK calls
         * it during the handshake, netty-tcnative from BoringSSL's verify callback.
         */
        public Server trust(X509TrustManager clientTrust) {
            this.trustManager = Objects.requireNonNull(clientTrust, "clientTrust");
            this.trustAnchors = List.of();
            return this;
        }

        /** Only these protocols (e.g. {@code TLSv1.3}, {@code TLSv1.2}) and suites (IANA names); TLS 1.3 with the provider's suites by default. */
        public Server protocols(List<String> protocols, List<String> cipherSuites) {
            if (protocols.isEmpty()) {
                throw new IllegalArgumentException("expected at least one TLS protocol, found none");
            }
            this.protocols = List.copyOf(protocols);
            this.cipherSuites = List.copyOf(cipherSuites);
            return this;
        }

        /**
         * Offers {@code protocols} (e.g. {@code h2}, {@code http/1.1}, in order of preference) by
         * ALPN; empty: no ALPN. A client that offers none of them, or no ALPN at all, goes on
         * without one (the server then speaks the last, its fallback).
         */
        public Server alpn(List<String> protocols) {
            this.alpn = List.copyOf(protocols);
            return this;
        }

        public SslContext build() throws SSLException {
            SslContextBuilder b = SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new))
                    .sslProvider(provider)
                    .protocols(protocols.toArray(String[]::new))
                    .clientAuth(clientAuth)
                    .applicationProtocolConfig(alpnConfig(alpn));
            if (cipherSuites != null) {
                b.ciphers(cipherSuites);
            }
            if (trustManager != null) {
                b.trustManager(trustManager);
            } else if (!trustAnchors.isEmpty()) {
                b.trustManager(trustAnchors.toArray(X509Certificate[]::new));
            } else if (clientAuth != ClientAuth.NONE) {
                throw new IllegalStateException("client certificates are " + clientAuth + " but nothing decides on them: set trust(…)");
            }
            return b.build();
        }
    }

    /**
     * A TLS 1.3 client context: Netty's, on the JDK's engine (the default) or BoringSSL's, for a Netty
     * client; or the JDK's {@link SSLContext} for sockets and {@link java.net.http.HttpClient}.
     *
     * <p>On BoringSSL ({@link SslProvider#OPENSSL}) the client key is never handed to native code:
     * BoringSSL gets the certificate chain, and its handshake signature is made by the key's JCA
     * provider ({@link JcaSigningKeyMethod}), so a key in a PKCS#11 token works with either engine.
     * Either way the host name is checked by one rule when {@link #checkHostName()} is set.
     */
    public static final class Client {
        private @Nullable X509KeyManager keyManager;
        private @Nullable Provider signer;
        private @Nullable X509TrustManager trustManager;
        private boolean checkHostName;
        private List<String> alpn = List.of();
        private SslProvider provider = SslProvider.JDK;

        private Client() {
        }

        /** Presents {@code key} with {@code chain} (the client certificate first). */
        public Client identity(PrivateKey key, List<X509Certificate> chain) {
            this.keyManager = keyManager(key, chain);
            this.signer = null;
            return this;
        }

        /** Presents whatever {@code keyManager} chooses (a key in a PKCS#11 token, for one). */
        public Client identity(X509KeyManager keyManager) {
            this.keyManager = Objects.requireNonNull(keyManager, "keyManager");
            this.signer = null;
            return this;
        }

        /**
         * Presents {@code keyManager}'s key, which lives in the JCA provider {@code signer}: on
         * BoringSSL the handshake signature is asked of {@code signer} by name rather than of
         * whichever installed provider takes the key first (the JDK's engine chooses itself).
         */
        public Client identity(X509KeyManager keyManager, Provider signer) {
            this.keyManager = Objects.requireNonNull(keyManager, "keyManager");
            this.signer = Objects.requireNonNull(signer, "signer");
            return this;
        }

        /** The server's chain must reach one of these. */
        public Client trust(List<X509Certificate> anchors) {
            this.trustManager = trustManager(anchors);
            return this;
        }

        /** The server's chain is decided by {@code trustManager} (e.g. a pinned root). */
        public Client trust(X509TrustManager trustManager) {
            this.trustManager = Objects.requireNonNull(trustManager, "trustManager");
            return this;
        }

        /**
         * The server's certificate must name the host dialled (HTTPS rules). The JDK's HTTP client
         * checks that itself; a Netty client needs this.
         */
        public Client checkHostName() {
            this.checkHostName = true;
            return this;
        }

        /** Offers these ALPN protocols, in order of preference. */
        public Client alpn(List<String> protocols) {
            this.alpn = List.copyOf(protocols);
            return this;
        }

        /**
         * The engine {@link #netty()} builds on: {@link SslProvider#JDK} (the default) or
         * {@link SslProvider#OPENSSL} (BoringSSL through netty-tcnative, whose native library must
         * load on this machine, else {@link #netty()} fails saying why).
         */
        public Client provider(SslProvider provider) {
            this.provider = switch (Objects.requireNonNull(provider, "provider")) {
                case JDK, OPENSSL -> provider;
                case OPENSSL_REFCNT -> throw new IllegalArgumentException(
                        "expected provider JDK or OPENSSL, found OPENSSL_REFCNT (its engines must be released by hand)");
            };
            return this;
        }

        /** Netty's context on the chosen engine, TLS 1.3 only. */
        public SslContext netty() throws SSLException {
            requireTrust();
            if (provider == SslProvider.OPENSSL && !OpenSsl.isAvailable()) {
                Throwable why = OpenSsl.unavailabilityCause();
                throw new SSLException("BoringSSL was asked for but its native library (netty-tcnative) does not load on this machine: "
                        + (why == null ? "no reason given" : why.getMessage()) + "; choose the JDK's engine instead", why);
            }
            SslContextBuilder b = SslContextBuilder.forClient()
                    .sslProvider(provider)
                    .protocols(TLS_1_3)
                    .trustManager(checkHostName && !(trustManager instanceof X509ExtendedTrustManager)
                            ? new HostNameTrustManager(trustManager) : trustManager)
                    .applicationProtocolConfig(alpnConfig(alpn));
            if (keyManager != null && provider == SslProvider.OPENSSL) {
                nativeIdentity(b, keyManager);
            } else if (keyManager != null) {
                b.keyManager(keyManager);
            }
            if (checkHostName) {
                b.endpointIdentificationAlgorithm("HTTPS");
            }
            return b.build();
        }

        /**
         * BoringSSL presents the key manager's one EC identity: its chain, with no key (netty's
         * keyless key manager), and signs through {@link JcaSigningKeyMethod}.
         */
        private void nativeIdentity(SslContextBuilder b, X509KeyManager km) throws SSLException {
            String[] aliases = km.getClientAliases("EC", null);
            if (aliases == null || aliases.length != 1) {
                throw new SSLException("BoringSSL presents one client key: expected one EC identity from the key manager, found "
                        + (aliases == null ? 0 : aliases.length));
            }
            PrivateKey key = km.getPrivateKey(aliases[0]);
            X509Certificate[] chain = km.getCertificateChain(aliases[0]);
            if (key == null || chain == null || chain.length == 0) {
                throw new SSLException("the key manager offers " + aliases[0] + " but gives no key or no certificate chain for it");
            }
            try {
                b.keyManager(OpenSslX509KeyManagerFactory.newKeyless(chain))
                        .option(OpenSslContextOption.PRIVATE_KEY_METHOD, new JcaSigningKeyMethod(key, chain[0].getPublicKey(), signer));
            } catch (GeneralSecurityException | IOException e) {
                throw new SSLException("cannot give BoringSSL the client certificate chain: " + e.getMessage(), e);
            }
        }

        /** The JDK's context, TLS 1.3 only. ALPN and the host name check are the socket's or HTTP client's to set. */
        public SSLContext jdk() {
            requireTrust();
            try {
                SSLContext ctx = SSLContext.getInstance(TLS_1_3);
                ctx.init(keyManager == null ? null : new KeyManager[] {keyManager}, new TrustManager[] {trustManager}, null);
                return ctx;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("this JDK cannot set up a TLS 1.3 client: " + e.getMessage(), e);
            }
        }

        private void requireTrust() {
            if (trustManager == null) {
                throw new IllegalStateException("a TLS client must say whom it trusts: set trust(…)");
            }
        }
    }
}
