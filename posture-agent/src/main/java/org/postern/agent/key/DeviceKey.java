package org.postern.agent.key;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.util.Objects;

/**
 * An opened device key: sign with {@link #privateKey()} through {@link #provider()} (for a token
 * key the value never leaves the token; only the provider can use it).
 */
public record DeviceKey(PrivateKey privateKey, PublicKey publicKey, Provider provider) {
    public DeviceKey {
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(publicKey, "publicKey");
        Objects.requireNonNull(provider, "provider");
    }

    public KeyPair keyPair() {
        return new KeyPair(publicKey, privateKey);
    }
}
