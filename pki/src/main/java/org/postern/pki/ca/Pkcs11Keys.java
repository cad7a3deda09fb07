package org.postern.pki.ca;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;

import org.postern.keys.KeyFiles;

/**
 * CA keys held in a PKCS#11 token through the JDK's SunPKCS11 provider. Keys are generated inside
 * the token and never leave it; only the certificates are written to {@code DATA/ca/}. The same
 * code serves SoftHSM2 in tests and a real HSM in production.
 */
final class Pkcs11Keys {
    static final String ROOT_ALIAS = "postern-root";
    static final String ISSUING_ALIAS = "postern-issuing";

    /** Keys generated through this provider are token objects that never leave the token. */
    private static final String GENERATE_ATTRIBUTES = """
            attributes(generate, CKO_PRIVATE_KEY, CKK_EC) = {
              CKA_TOKEN = true
              CKA_PRIVATE = true
              CKA_SENSITIVE = true
              CKA_EXTRACTABLE = false
            }
            """;

    private Pkcs11Keys() {
    }

    static CertificateAuthority init(Path dir, String name, KeyProtection.Pkcs11 p, Profiles profiles, Instant now,
                                     SecureRandom random, Duration ocspLifetime) throws IOException {
        Provider provider = provider(p.config());
        KeyStore ks = open(provider, p);
        try {
            if (ks.containsAlias(ROOT_ALIAS) || ks.containsAlias(ISSUING_ALIAS)) {
                throw new IOException("the PKCS#11 token already holds " + ROOT_ALIAS + " or " + ISSUING_ALIAS + "; refusing to overwrite CA keys");
            }
            KeyPair rootKeys = generate(provider, random);
            X509Certificate rootCert = profiles.root(name, rootKeys.getPublic(), rootKeys.getPrivate(), provider, now, CaStore.ROOT_LIFETIME);
            ks.setKeyEntry(ROOT_ALIAS, rootKeys.getPrivate(), null, new Certificate[] {rootCert});
            KeyPair issuingKeys = generate(provider, random);
            CaSigner root = new CaSigner(rootCert, rootKeys.getPrivate(), provider);
            X509Certificate issuingCert = profiles.issuingCa(name, issuingKeys.getPublic(), root, now, CaStore.ISSUING_LIFETIME);
            ks.setKeyEntry(ISSUING_ALIAS, issuingKeys.getPrivate(), null, new Certificate[] {issuingCert, rootCert});
            CaStore.writeCertificates(dir, rootCert, issuingCert);
            CaSigner issuing = issuing(ks, provider, issuingCert);
            CaSigner ocsp = CaStore.renewOcspResponder(dir, name, issuing, profiles, now, ocspLifetime, random);
            return new CertificateAuthority(name, rootCert, issuing, ocsp);
        } catch (GeneralSecurityException e) {
            throw new IOException("PKCS#11 token refused to create the CA keys: " + e.getMessage(), e);
        }
    }

    static CaSigner issuing(KeyProtection.Pkcs11 p, X509Certificate issuingCert) throws IOException {
        Provider provider = provider(p.config());
        return issuing(open(provider, p), provider, issuingCert);
    }

    private static CaSigner issuing(KeyStore ks, Provider provider, X509Certificate issuingCert) throws IOException {
        try {
            if (!(ks.getKey(ISSUING_ALIAS, null) instanceof PrivateKey key)) {
                throw new IOException("the PKCS#11 token holds no private key " + ISSUING_ALIAS + " (expected the key postern pki init --pkcs11 created)");
            }
            return new CaSigner(issuingCert, key, provider);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read " + ISSUING_ALIAS + " from the PKCS#11 token: " + e.getMessage(), e);
        }
    }

    private static Provider provider(Path config) throws IOException {
        if (!Files.isReadable(config)) {
            throw new IOException("PKCS#11 config: expected a readable SunPKCS11 configuration file, found nothing at " + config);
        }
        Provider base = Security.getProvider("SunPKCS11");
        if (base == null) {
            throw new IOException("this JDK has no SunPKCS11 provider");
        }
        try {
            // SunPKCS11 generates keys with the token's defaults unless the config says otherwise;
            // SoftHSM2's default is CKA_SENSITIVE=false, which lets anyone holding the PIN read the
            // key value out. The CA keys must stay in the token, so ask for that explicitly.
            return base.configure("--" + Files.readString(config) + "\n" + GENERATE_ATTRIBUTES);
        } catch (RuntimeException e) {
            throw new IOException("PKCS#11 config " + config + " was refused: " + rootMessage(e), e);
        }
    }

    private static KeyStore open(Provider provider, KeyProtection.Pkcs11 p) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS11", provider);
            ks.load(null, p.pin().revealChars());
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            String why = rootMessage(e);
            if (why.contains("CKR_PIN_INCORRECT")) {
                throw new KeyFiles.WrongPassphraseException("the PKCS#11 token PIN is wrong (the token answered CKR_PIN_INCORRECT)");
            }
            throw new IOException("cannot log in to the PKCS#11 token: " + why, e);
        }
    }

    private static KeyPair generate(Provider provider, SecureRandom random) throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", provider);
        g.initialize(new ECGenParameterSpec("secp256r1"), random);
        return g.generateKeyPair();
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return String.valueOf(c.getMessage());
    }
}
