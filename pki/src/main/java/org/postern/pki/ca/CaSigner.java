package org.postern.pki.ca;

import java.security.PrivateKey;
import java.security.Provider;
import java.security.cert.X509Certificate;
import java.util.Objects;

import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.jspecify.annotations.Nullable;

/**
 * A certificate and the private key that signs with it. The key may live in memory (decrypted
 * from a PKCS#8 file) or in a PKCS#11 token; {@code provider} is the token's provider then, and
 * null for the JDK's default choice.
 */
public record CaSigner(X509Certificate certificate, PrivateKey key, @Nullable Provider provider) {

    public CaSigner {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
    }

    /** A fresh ECDSA-with-SHA-256 content signer. Signers are cheap and not thread-safe, so make one per use. */
    public ContentSigner contentSigner() {
        return contentSigner(key, provider, certificate.getSubjectX500Principal().getName());
    }

    static ContentSigner contentSigner(PrivateKey key, Provider provider, String whose) {
        JcaContentSignerBuilder b = new JcaContentSignerBuilder("SHA256withECDSA");
        if (provider != null) {
            b.setProvider(provider);
        }
        try {
            return b.build(key);
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign with the key of " + whose + ": " + e.getMessage(), e);
        }
    }
}
