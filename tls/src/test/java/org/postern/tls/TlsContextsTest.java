package org.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import javax.net.ssl.SSLEngine;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.postern.keys.KeyFiles;

/** The one TLS policy: TLS 1.3 only, client certificates as asked, nothing trusted by default. */
class TlsContextsTest {
    final KeyPair keys = KeyFiles.generateP256(new SecureRandom());
    final X509Certificate cert = selfSigned(keys);

    @Test
    void server_isTls13Only_andAsksForClientCertificatesAsTold() throws Exception {
        SSLEngine none = engine(TlsContexts.server(keys.getPrivate(), List.of(cert)).build());
        assertThat(none.getEnabledProtocols()).containsExactly("TLSv1.3");
        assertThat(none.getNeedClientAuth() || none.getWantClientAuth()).isFalse();

        SSLEngine optional = engine(TlsContexts.server(keys.getPrivate(), List.of(cert)).clientAuth(ClientAuth.OPTIONAL).trust(List.of(cert)).build());
        assertThat(optional.getWantClientAuth()).isTrue();
        assertThat(optional.getNeedClientAuth()).isFalse();

        SSLEngine require = engine(TlsContexts.server(keys.getPrivate(), List.of(cert)).clientAuth(ClientAuth.REQUIRE).trust(List.of(cert)).build());
        assertThat(require.getNeedClientAuth()).isTrue();
    }

    @Test
    void server_clientCertificatesWithoutTrust_isAnError() {
        assertThatThrownBy(() -> TlsContexts.server(keys.getPrivate(), List.of(cert)).clientAuth(ClientAuth.REQUIRE).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("client certificates are REQUIRE but nothing decides on them: set trust(…)");
    }

    @Test
    void client_isTls13_andMustSayWhomItTrusts() throws Exception {
        assertThat(TlsContexts.client().trust(List.of(cert)).identity(keys.getPrivate(), List.of(cert)).jdk().getProtocol())
                .isEqualTo("TLSv1.3");
        assertThat(TlsContexts.client().trust(List.of(cert)).netty().newEngine(ByteBufAllocator.DEFAULT).getEnabledProtocols())
                .containsExactly("TLSv1.3");
        assertThatThrownBy(() -> TlsContexts.client().jdk())
                .hasMessage("a TLS client must say whom it trusts: set trust(…)");
        assertThatThrownBy(() -> TlsContexts.client().trust(List.of()))
                .hasMessage("expected at least one trust anchor, found none");
    }

    private static SSLEngine engine(SslContext ctx) {
        return ctx.newEngine(ByteBufAllocator.DEFAULT);
    }

    private static X509Certificate selfSigned(KeyPair keys) {
        try {
            X500Name name = new X500Name("CN=localhost");
            Instant now = Instant.now();
            return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
                    Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)), name, keys.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
