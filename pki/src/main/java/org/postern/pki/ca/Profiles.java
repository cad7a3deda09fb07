package org.postern.pki.ca;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.URI;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * The certificate profiles, one method each: root, issuing CA, device, server, admin and OCSP
 * responder. Names always come from the caller (the registry), never from a CSR.
 * See docs/pki.md for the table of what each profile holds.
 */
public final class Profiles {

    /** URN prefix of a device's SAN URI; the gateway reads the device id from it. */
    public static final String DEVICE_URN = "urn:postern:device:";
    /** URN prefix of an admin certificate's SAN URI, followed by the role. */
    public static final String ROLE_URN = "urn:postern:role:";

    private static final Duration BACKDATE = Duration.ofMinutes(5);

    private final SecureRandom random;
    private final JcaX509ExtensionUtils ext;
    private final java.util.Map<X509Certificate, Issuer> issuers = new java.util.concurrent.ConcurrentHashMap<>();

    public Profiles(SecureRandom random) {
        this.random = random;
        try {
            this.ext = new JcaX509ExtensionUtils();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A positive random serial of 159 bits: well over the 64 bits RFC 5280 and CA/B ask for, and under 20 octets. */
    public BigInteger newSerial() {
        return new BigInteger(159, random).setBit(158);
    }

    public X509Certificate root(String caName, PublicKey key, PrivateKey privateKey, Provider provider, Instant now, Duration lifetime) {
        X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, caName).addRDN(BCStyle.CN, caName + " Root CA").build();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, newSerial(), from(now), Date.from(now.plus(lifetime)), name, key);
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(1));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            return new JcaX509CertificateConverter().getCertificate(b.build(CaSigner.contentSigner(privateKey, provider, caName + " Root CA")));
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
    }

    public X509Certificate issuingCa(String caName, PublicKey key, CaSigner root, Instant now, Duration lifetime) {
        X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, caName).addRDN(BCStyle.CN, caName + " Issuing CA").build();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(root.certificate(), newSerial(), from(now), Date.from(now.plus(lifetime)), name, key);
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(root.certificate()));
        } catch (IOException | CertificateException e) {
            throw new IllegalStateException(e);
        }
        return build(b, root);
    }

    /** The device profile (docs/pki.md, certificate profiles): CN = id, SAN URI urn:postern:device:id, clientAuth only, CRL DP and OCSP AIA. */
    public X509Certificate device(String deviceId, String caName, PublicKey key, CaSigner issuer, BigInteger serial,
                                  Instant now, Duration lifetime, URI crlUrl, URI ocspUrl) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, caName).addRDN(BCStyle.CN, deviceId).build();
        X509v3CertificateBuilder b = leaf(subject, key, issuer, serial, now, lifetime);
        try {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, DEVICE_URN + deviceId)));
            revocationPointers(b, crlUrl, ocspUrl);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return build(b, issuer);
    }

    /** A TLS server certificate for the gateway: DNS and IP SANs, serverAuth. */
    public X509Certificate server(List<String> dnsNames, List<String> ipAddresses, String caName, PublicKey key, CaSigner issuer,
                                  BigInteger serial, Instant now, Duration lifetime) {
        String cn = !dnsNames.isEmpty() ? dnsNames.getFirst() : ipAddresses.getFirst();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, caName).addRDN(BCStyle.CN, cn).build();
        X509v3CertificateBuilder b = leaf(subject, key, issuer, serial, now, lifetime);
        List<GeneralName> sans = new ArrayList<>();
        dnsNames.forEach(d -> sans.add(new GeneralName(GeneralName.dNSName, d)));
        ipAddresses.forEach(ip -> sans.add(new GeneralName(GeneralName.iPAddress, ip)));
        try {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return build(b, issuer);
    }

    /** An admin-console client certificate: CN = name, OU = role, SAN URI urn:postern:role:ROLE. */
    public X509Certificate admin(String name, String role, String caName, PublicKey key, CaSigner issuer,
                                 BigInteger serial, Instant now, Duration lifetime) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, caName).addRDN(BCStyle.OU, role).addRDN(BCStyle.CN, name).build();
        X509v3CertificateBuilder b = leaf(subject, key, issuer, serial, now, lifetime);
        try {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, ROLE_URN + role)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return build(b, issuer);
    }

    /** A delegated OCSP responder (RFC 6960 §4.2.2.2): EKU OCSPSigning and id-pkix-ocsp-nocheck. */
    public X509Certificate ocspResponder(String caName, PublicKey key, CaSigner issuer, BigInteger serial, Instant now, Duration lifetime) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, caName).addRDN(BCStyle.CN, caName + " OCSP Responder").build();
        X509v3CertificateBuilder b = leaf(subject, key, issuer, serial, now, lifetime);
        try {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_OCSPSigning));
            b.addExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nocheck, false, DERNull.INSTANCE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return build(b, issuer);
    }

    private X509v3CertificateBuilder leaf(X500Name subject, PublicKey key, CaSigner issuer, BigInteger serial, Instant now, Duration lifetime) {
        Instant notAfter = now.plus(lifetime);
        Instant issuerEnd = issuer.certificate().getNotAfter().toInstant();
        if (notAfter.isAfter(issuerEnd)) {
            notAfter = issuerEnd; // a leaf never outlives the CA that vouches for it
        }
        Issuer is = issuers.computeIfAbsent(issuer.certificate(), this::issuer);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(is.name(), serial, from(now), Date.from(notAfter), subject, key);
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
            b.addExtension(Extension.authorityKeyIdentifier, false, is.authorityKeyId());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b;
    }

    private static void revocationPointers(X509v3CertificateBuilder b, URI crlUrl, URI ocspUrl) throws IOException {
        if (crlUrl != null) {
            GeneralNames names = new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, new DERIA5String(crlUrl.toString())));
            b.addExtension(Extension.cRLDistributionPoints, false,
                    new CRLDistPoint(new DistributionPoint[] {new DistributionPoint(new DistributionPointName(names), null, null)}));
        }
        if (ocspUrl != null) {
            b.addExtension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(
                    new AccessDescription(AccessDescription.id_ad_ocsp, new GeneralName(GeneralName.uniformResourceIdentifier, ocspUrl.toString()))));
        }
    }

    private static Date from(Instant now) {
        return Date.from(now.minus(BACKDATE)); // tolerate a little clock skew on the relying party
    }

    /** What every leaf takes from its issuer, worked out once per issuer rather than per certificate. */
    private record Issuer(X500Name name, AuthorityKeyIdentifier authorityKeyId) {}

    private Issuer issuer(X509Certificate cert) {
        try {
            return new Issuer(X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()), ext.createAuthorityKeyIdentifier(cert));
        } catch (CertificateException e) {
            throw new IllegalStateException("cannot read the issuer certificate " + cert.getSubjectX500Principal() + ": " + e.getMessage(), e);
        }
    }

    /** CertificateFactory look-ups are slow and instances are not thread-safe: one per thread. */
    private static final ThreadLocal<CertificateFactory> X509 = ThreadLocal.withInitial(() -> {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
    });

    private static X509Certificate build(X509v3CertificateBuilder b, CaSigner signer) {
        try {
            return (X509Certificate) X509.get().generateCertificate(new java.io.ByteArrayInputStream(b.build(signer.contentSigner()).getEncoded()));
        } catch (CertificateException | IOException e) {
            throw new IllegalStateException("cannot encode the certificate just signed: " + e.getMessage(), e);
        }
    }
}
