package org.postern.agent.enroll;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

import org.jspecify.annotations.Nullable;
import org.postern.keys.KeyFiles;

/**
 * Offers exactly one client key and chain: the device's. A token may hold other entries (another
 * application's keys, or the next device key during a rekey); a key manager over the whole token
 * would pick among them by issuer alone.
 */
public final class DeviceKeyManager extends X509ExtendedKeyManager {
    static final String ALIAS = "device";

    private final PrivateKey key;
    private final X509Certificate[] chain;

    public DeviceKeyManager(PrivateKey key, List<X509Certificate> chain) {
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("expected the device certificate chain, found none");
        }
        this.key = jdkKey(key);
        this.chain = chain.toArray(X509Certificate[]::new);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return choose(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return choose(keyTypes);
    }

    /**
     * JSSE asks by key algorithm ("EC"; TLS 1.2 also "EC_EC"); a BouncyCastle "ECDSA" key was made
     * the JDK's "EC" key on the way in ({@link KeyFiles#jdkKey}).
     */
    String choose(String[] keyTypes) {
        String alg = key.getAlgorithm();
        return keyTypes != null && Arrays.stream(keyTypes).anyMatch(t -> t.equalsIgnoreCase(alg) || t.toUpperCase().startsWith(alg.toUpperCase() + "_"))
                ? ALIAS : null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return choose(new String[] {keyType}) != null ? new String[] {ALIAS} : null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? key : null;
    }

    @Override
    public String @Nullable [] getServerAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public @Nullable String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    /** The JDK's own form of a BouncyCastle key; a token key, or one SunEC cannot read, as it is. */
    private static PrivateKey jdkKey(PrivateKey key) {
        try {
            return KeyFiles.jdkKey(key);
        } catch (IllegalArgumentException e) {
            return key;
        }
    }
}
