package org.postern.bench.tunnel;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SSLException;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.tls.TlsContexts;

/**
 * A simulated laptop's device key and certificate (issued by the bench gateway's CA, as
 * enrollment would) and the root it trusts the gateway by.
 *
 * @param chain the device certificate first, then its CA chain
 */
record LaptopIdentity(PrivateKey key, List<X509Certificate> chain, X509Certificate root) {

    LaptopIdentity {
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a laptop needs its certificate: the chain is empty");
        }
        chain = List.copyOf(chain);
    }

    /** Reads {@code NAME.crt} (leaf and chain, PEM) and {@code NAME.key} (PKCS#8 PEM) from {@code dir}. */
    static LaptopIdentity read(Path dir, String name, X509Certificate root) throws IOException {
        return new LaptopIdentity(KeyFiles.readPlain(dir.resolve(name + ".key")),
                Pem.readCertificates(dir.resolve(name + ".crt")), root);
    }

    X509Certificate certificate() {
        return chain.getFirst();
    }

    /**
     * TLS 1.3 with this device certificate, the gateway's name checked, ALPN {@code h2}. OpenSSL
     * (BoringSSL) when Netty has it, as the load generator must not be slower than the stunnel
     * client it is compared with; the agent itself uses the JDK's provider for PKCS#11 keys.
     */
    SslContext tls() throws SSLException {
        return SslContextBuilder.forClient()
                .sslProvider(TlsContexts.provider())
                .protocols(TlsContexts.TLS_1_3)
                .keyManager(key, chain.toArray(X509Certificate[]::new))
                .trustManager(root)
                .endpointIdentificationAlgorithm("HTTPS")
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
                .build();
    }
}
