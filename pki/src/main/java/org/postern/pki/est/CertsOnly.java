package org.postern.pki.est;

import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;

import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSAbsentContent;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSSignedDataGenerator;

/** The "certs-only" CMS SignedData (degenerate PKCS#7) that EST returns certificates in. */
public final class CertsOnly {
    private CertsOnly() {
    }

    public static byte[] encode(List<X509Certificate> certs) {
        try {
            CMSSignedDataGenerator g = new CMSSignedDataGenerator();
            g.addCertificates(new JcaCertStore(certs));
            // DER, not BER: strongSwan's parser rejects the indefinite lengths BouncyCastle emits by default
            return g.generate(new CMSAbsentContent()).getEncoded(org.bouncycastle.asn1.ASN1Encoding.DER);
        } catch (CertificateEncodingException | CMSException | IOException e) {
            throw new IllegalStateException("cannot encode certs-only PKCS#7: " + e.getMessage(), e);
        }
    }
}
