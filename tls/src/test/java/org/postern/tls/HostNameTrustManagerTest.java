package org.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.postern.keys.KeyFiles;

/** The host name rule both engines share: SAN DNS names (one-label wildcard) and IP addresses, never the CN. */
class HostNameTrustManagerTest {
    final X509Certificate cert = certificate("CN=gw.internal", new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.dNSName, "*.example.org"), new GeneralName(GeneralName.dNSName, "gw.example.net"),
            new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.iPAddress, "::1")}));

    @Test
    void namesAndAddressesInTheCertificate_match() {
        for (String host : new String[] {"gw.example.org", "GW.Example.ORG", "gw.example.net", "gw.example.net.", "127.0.0.1", "::1", "[::1]",
                "0:0:0:0:0:0:0:1"}) {
            assertThatCode(() -> HostNameTrustManager.checkHost(cert, host)).as(host).doesNotThrowAnyException();
        }
    }

    @Test
    void otherHosts_areRefused_sayingWhatTheCertificateNames() {
        assertThatThrownBy(() -> HostNameTrustManager.checkHost(cert, "127.0.0.2")).isInstanceOf(CertificateException.class)
                .hasMessage("the server's certificate does not name the host dialled: expected 127.0.0.2 among its subject"
                        + " alternative names, found [DNS:*.example.org, DNS:gw.example.net, IP:127.0.0.1, IP:0:0:0:0:0:0:0:1]"
                        + " (CN=gw.internal)");
        for (String host : new String[] {"example.org", "a.gw.example.org", "gw.internal", "evil-example.org", "gw.example.net.evil"}) {
            assertThatThrownBy(() -> HostNameTrustManager.checkHost(cert, host)).as(host).isInstanceOf(CertificateException.class);
        }
        assertThatThrownBy(() -> HostNameTrustManager.checkHost(cert, null))
                .hasMessage("the server's host name cannot be checked: the connection has no host name");
    }

    @Test
    void dnsMatches_wildcardIsOneWholeLeftmostLabelOverAtLeastTwo() {
        assertThat(HostNameTrustManager.dnsMatches("*.example.org", "a.example.org")).isTrue();
        assertThat(HostNameTrustManager.dnsMatches("*.example.org", "example.org")).isFalse();
        assertThat(HostNameTrustManager.dnsMatches("*.org", "example.org")).isFalse();
        assertThat(HostNameTrustManager.dnsMatches("a*.example.org", "ab.example.org")).isFalse();
        assertThat(HostNameTrustManager.dnsMatches("*.*.example.org", "a.b.example.org")).isFalse();
    }

    @Test
    void withoutTheConnection_nothingIsTrusted() {
        HostNameTrustManager tm = new HostNameTrustManager(TlsContexts.trustManager(java.util.List.of(cert)));
        assertThatThrownBy(() -> tm.checkServerTrusted(new X509Certificate[] {cert}, "ECDHE_ECDSA"))
                .hasMessage("the server's host name cannot be checked without the connection it came on");
    }

    private static X509Certificate certificate(String subject, GeneralNames sans) {
        try {
            KeyPair keys = KeyFiles.generateP256(new SecureRandom());
            X500Name name = new X500Name(subject);
            Instant now = Instant.now();
            return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.TWO,
                    Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)), name, keys.getPublic())
                    .addExtension(Extension.subjectAlternativeName, false, sans)
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
