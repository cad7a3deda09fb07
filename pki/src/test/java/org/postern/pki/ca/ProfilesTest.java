package org.postern.pki.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.net.URI;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.junit.jupiter.api.Test;
import org.postern.keys.KeyFiles;

class ProfilesTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final URI CRL = URI.create("https://127.0.0.1:8443/pki/crl");
    private static final URI OCSP = URI.create("https://127.0.0.1:8443/pki/ocsp");

    private final Profiles profiles = new Profiles(RANDOM);
    private final CaSigner issuing = issuing();

    private CaSigner issuing() {
        KeyPair rootKeys = KeyFiles.generateP256(RANDOM);
        X509Certificate root = profiles.root("T", rootKeys.getPublic(), rootKeys.getPrivate(), null, NOW, Duration.ofDays(3650));
        KeyPair k = KeyFiles.generateP256(RANDOM);
        X509Certificate c = profiles.issuingCa("T", k.getPublic(), new CaSigner(root, rootKeys.getPrivate(), null), NOW, Duration.ofDays(1000));
        return new CaSigner(c, k.getPrivate(), null);
    }

    private X509Certificate device(String id) {
        return profiles.device(id, "T", KeyFiles.generateP256(RANDOM).getPublic(), issuing, profiles.newSerial(), NOW,
                Duration.ofDays(90), CRL, OCSP);
    }

    @Test
    void device_profile_isExactlyTheDesignedOne() throws Exception {
        X509Certificate cert = device("laptop-1");
        X509CertificateHolder h = new JcaX509CertificateHolder(cert);

        assertThat(h.getSubject().toString()).isEqualTo("O=T,CN=laptop-1");
        GeneralNames san = GeneralNames.getInstance(h.getExtension(Extension.subjectAlternativeName).getParsedValue());
        assertThat(san.getNames()).hasSize(1);
        assertThat(san.getNames()[0].getTagNo()).isEqualTo(GeneralName.uniformResourceIdentifier);
        assertThat(san.getNames()[0].getName().toString()).isEqualTo("urn:postern:device:laptop-1");

        assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(cert.getCriticalExtensionOIDs()).contains(Extension.keyUsage.getId(), Extension.basicConstraints.getId());
        boolean[] ku = cert.getKeyUsage();
        assertThat(ku[0]).as("digitalSignature").isTrue();
        for (int i = 1; i < ku.length; i++) {
            assertThat(ku[i]).as("keyUsage bit " + i).isFalse();
        }
        assertThat(cert.getBasicConstraints()).as("CA:false").isEqualTo(-1);
        assertThat(h.getExtension(Extension.basicConstraints)).isNotNull();

        CRLDistPoint dp = CRLDistPoint.getInstance(h.getExtension(Extension.cRLDistributionPoints).getParsedValue());
        assertThat(GeneralNames.getInstance(dp.getDistributionPoints()[0].getDistributionPoint().getName()).getNames()[0].getName().toString())
                .isEqualTo(CRL.toString());
        AccessDescription[] aia = AuthorityInformationAccess.getInstance(h.getExtension(Extension.authorityInfoAccess).getParsedValue())
                .getAccessDescriptions();
        assertThat(aia).hasSize(1);
        assertThat(aia[0].getAccessMethod()).isEqualTo(AccessDescription.id_ad_ocsp);
        assertThat(aia[0].getAccessLocation().getName().toString()).isEqualTo(OCSP.toString());

        assertThat(Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()))
                .isEqualTo(Duration.ofDays(90).plusMinutes(5));
        assertThat(cert.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(90)));
        cert.verify(issuing.certificate().getPublicKey());
    }

    @Test
    void newSerial_isPositiveRandomAndOver64Bits() {
        Set<BigInteger> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            BigInteger s = profiles.newSerial();
            assertThat(s.signum()).isPositive();
            assertThat(s.bitLength()).isGreaterThan(64).isLessThanOrEqualTo(159);
            assertThat(s.toByteArray()).hasSizeLessThanOrEqualTo(20);
            seen.add(s);
        }
        assertThat(seen).hasSize(200);
    }

    @Test
    void device_serial_isTheOneGiven_andLeafNeverOutlivesIssuer() {
        X509Certificate cert = profiles.device("d", "T", KeyFiles.generateP256(RANDOM).getPublic(), issuing, BigInteger.TWO.pow(100), NOW,
                Duration.ofDays(3650), CRL, OCSP);
        assertThat(cert.getSerialNumber()).isEqualTo(BigInteger.TWO.pow(100));
        assertThat(cert.getNotAfter()).isEqualTo(issuing.certificate().getNotAfter());
    }

    @Test
    void server_profile_hasIpSanAndServerAuthOnly() throws Exception {
        X509Certificate cert = profiles.server(List.of(), List.of("127.0.0.1"), "T", KeyFiles.generateP256(RANDOM).getPublic(), issuing,
                profiles.newSerial(), NOW, Duration.ofDays(397));
        assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(7, "127.0.0.1"));
        assertThat(cert.getBasicConstraints()).isEqualTo(-1);
    }
}
