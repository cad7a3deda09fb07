package org.postern.agent.key;

import java.io.IOException;
import java.nio.file.Files;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.postern.config.Secret;
import org.postern.keys.KeyFiles;

/**
 * The device key inside a PKCS#11 token through the JDK's SunPKCS11 provider, the way the CA keeps
 * its keys ({@code pki.ca.Pkcs11Keys}): generated in the token as a sensitive, non-extractable
 * token object and stored under an alias with its certificate.
 */
final class Pkcs11KeyStore implements DeviceKeyStore {
    /** Keys generated through this provider are token objects that never leave the token. */
    private static final String GENERATE_ATTRIBUTES = """
            attributes(generate, CKO_PRIVATE_KEY, CKK_EC) = {
              CKA_TOKEN = true
              CKA_PRIVATE = true
              CKA_SENSITIVE = true
              CKA_EXTRACTABLE = false
            }
            """;

    /**
     * One provider per configuration for the life of the JVM: JSSE finds the signer for a token
     * key among the installed providers, so the instance that made the key must be the installed one.
     */
    private static final Map<String, Provider> PROVIDERS = new ConcurrentHashMap<>();

    private final DeviceKeys.Pkcs11Key where;
    private final Provider provider;
    private final KeyStore ks;

    private Pkcs11KeyStore(DeviceKeys.Pkcs11Key where, Provider provider, KeyStore ks) {
        this.where = where;
        this.provider = provider;
        this.ks = ks;
    }

    static Pkcs11KeyStore open(DeviceKeys.Pkcs11Key where, Map<String, String> env) throws IOException {
        Secret pin = pin(where, env);
        Provider provider = provider(where);
        try {
            KeyStore ks = KeyStore.getInstance("PKCS11", provider);
            ks.load(null, pin.revealChars());
            return new Pkcs11KeyStore(where, provider, ks);
        } catch (GeneralSecurityException | IOException e) {
            String why = rootMessage(e);
            if (why.contains("CKR_PIN_INCORRECT")) {
                throw new KeyFiles.WrongPassphraseException("the PKCS#11 token PIN is wrong (the token answered CKR_PIN_INCORRECT; PIN from "
                        + (where.pinFile() != null ? where.pinFile() : "$" + DeviceKeys.PIN_ENV) + ")");
            }
            throw new IOException("cannot log in to the PKCS#11 token of " + where.config() + ": " + why, e);
        }
    }

    /** The PIN file when one was given, else {@code $POSTERN_AGENT_PIN}; never a command-line argument. */
    static Secret pin(DeviceKeys.Pkcs11Key where, Map<String, String> env) throws IOException {
        if (where.pinFile() != null) {
            try {
                return Secret.fromFile(where.pinFile());
            } catch (IllegalArgumentException e) {
                throw new IOException("the PKCS#11 token PIN: " + e.getMessage(), e);
            }
        }
        String v = env.get(DeviceKeys.PIN_ENV);
        if (v == null || v.isEmpty()) {
            throw new IOException("the PKCS#11 token PIN: expected $" + DeviceKeys.PIN_ENV + " or --pin-file FILE, found neither");
        }
        return Secret.of(v);
    }

    static Provider provider(DeviceKeys.Pkcs11Key where) throws IOException {
        if (!Files.isRegularFile(where.config()) || !Files.isReadable(where.config())) {
            throw new IOException("--pkcs11: expected a readable SunPKCS11 configuration file, found nothing at " + where.config());
        }
        // SoftHSM2 and others generate with CKA_SENSITIVE=false unless asked, which lets anyone
        // holding the PIN read the key out; the device key must stay in the token.
        String config = Files.readString(where.config()) + "\n" + GENERATE_ATTRIBUTES;
        Provider base = Security.getProvider("SunPKCS11");
        if (base == null) {
            throw new IOException("this JDK has no SunPKCS11 provider (module jdk.crypto.cryptoki)");
        }
        try {
            return PROVIDERS.computeIfAbsent(config, c -> {
                Provider p = base.configure("--" + c);
                Security.addProvider(p);
                return p;
            });
        } catch (RuntimeException e) {
            throw new IOException("--pkcs11: the configuration " + where.config() + " was refused: " + rootMessage(e), e);
        }
    }

    @Override
    public DeviceKeys where() {
        return where;
    }

    @Override
    public Optional<String> occupied() throws IOException {
        try {
            return ks.containsAlias(where.alias()) ? Optional.of(where.alias()) : Optional.empty();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot list the PKCS#11 token: " + rootMessage(e), e);
        }
    }

    @Override
    public DeviceKey generate(SecureRandom random) throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC", provider);
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            KeyPair kp = g.generateKeyPair();
            return new DeviceKey(kp.getPrivate(), kp.getPublic(), provider);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException("the PKCS#11 token refused to generate a P-256 key: " + rootMessage(e), e);
        }
    }

    @Override
    public DeviceKeys storeFirst(DeviceKey fresh, X509Certificate cert) throws IOException {
        // enrollment starts over: both entries of an earlier enrollment under this alias go
        delete(where.alias());
        delete(where.sibling());
        return store(where.alias(), fresh, cert);
    }

    @Override
    public DeviceKeys storeNext(DeviceKey fresh, X509Certificate cert) throws IOException {
        String target = where.sibling();
        delete(target); // left over from a renewal that stopped half way
        return store(target, fresh, cert);
    }

    private DeviceKeys store(String alias, DeviceKey fresh, X509Certificate cert) throws IOException {
        try {
            // the key is already a token object; this labels it and stores the certificate beside it
            ks.setKeyEntry(alias, fresh.privateKey(), null, new Certificate[] {cert});
            return where.withAlias(alias);
        } catch (GeneralSecurityException e) {
            throw new IOException("the PKCS#11 token refused to store the device key as " + alias + ": " + rootMessage(e), e);
        }
    }

    @Override
    public void retireAllBut(DeviceKeys current) throws IOException {
        if (!(current instanceof DeviceKeys.Pkcs11Key p)) {
            throw new IllegalArgumentException("expected a PKCS#11 key, found " + current.describe());
        }
        for (String alias : List.of(where.alias(), where.sibling())) {
            if (!alias.equals(p.alias())) {
                delete(alias);
            }
        }
    }

    private void delete(String alias) throws IOException {
        try {
            if (ks.containsAlias(alias)) {
                ks.deleteEntry(alias);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("the PKCS#11 token refused to delete " + alias + ": " + rootMessage(e), e);
        }
    }

    @Override
    public DeviceKey current(X509Certificate cert) throws IOException {
        // The recorded alias normally; its sibling if a renewal stored the new certificate but
        // stopped before recording the new alias.
        for (String alias : List.of(where.alias(), where.sibling())) {
            try {
                Certificate stored = ks.getCertificate(alias);
                if (stored != null && stored.getPublicKey().equals(cert.getPublicKey())
                        && ks.getKey(alias, null) instanceof PrivateKey key) {
                    return new DeviceKey(key, cert.getPublicKey(), provider);
                }
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot read " + alias + " from the PKCS#11 token: " + rootMessage(e), e);
            }
        }
        throw new IOException("the PKCS#11 token holds no private key " + where.alias() + " for the device certificate"
                + " (expected the key postern-agent enroll --pkcs11 created; config " + where.config() + ")");
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return String.valueOf(c.getMessage());
    }
}
