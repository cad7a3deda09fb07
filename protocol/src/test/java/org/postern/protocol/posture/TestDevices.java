package org.postern.protocol.posture;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Device keys and self-signed device certificates generated per test run; no key is committed. */
final class TestDevices {

    record Device(String id, KeyPair keys, X509Certificate cert) {
    }

    private TestDevices() {
    }

    static KeyPair p256() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    /** A device certificate as the Postern PKI issues one: CN and SAN URI urn:postern:device:ID. */
    static Device device(String id) throws Exception {
        return device(id, true);
    }

    static Device device(String id, boolean withSanUri) throws Exception {
        KeyPair keys = p256();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        X500Name subject = new X500Name("O=Postern,CN=" + id);
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(60)), Date.from(now.plus(90, ChronoUnit.DAYS)), subject, keys.getPublic());
        if (withSanUri) {
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, Evidence.DEVICE_URN + id)));
        }
        X509Certificate cert = new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        return new Device(id, keys, cert);
    }
}
