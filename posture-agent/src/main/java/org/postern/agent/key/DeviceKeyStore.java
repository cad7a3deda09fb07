package org.postern.agent.key;

import java.io.IOException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;

/**
 * The device key's home, opened: makes fresh keys there, keeps the one that matches the device
 * certificate, and drops the previous one after a rekey.
 */
public sealed interface DeviceKeyStore permits FileKeyStore, Pkcs11KeyStore {
    /** Opens {@code where}; for a token this logs in with the PIN from the PIN file or {@code env}. */
    static DeviceKeyStore open(DeviceKeys where, Map<String, String> env) throws IOException {
        return switch (where) {
            case DeviceKeys.FileKey f -> new FileKeyStore(f);
            case DeviceKeys.Pkcs11Key p -> Pkcs11KeyStore.open(p, env);
        };
    }

    DeviceKeys where();

    /** What a first enrollment would overwrite (a token entry under the alias), if anything. */
    Optional<String> occupied() throws IOException;

    /** A fresh P-256 key, not yet the device key. */
    DeviceKey generate(SecureRandom random) throws IOException;

    /** Makes {@code fresh} the device key of a first enrollment, replacing whatever was there. */
    DeviceKeys storeFirst(DeviceKey fresh, X509Certificate cert) throws IOException;

    /** Stores the key of a renewal beside the current one; returns where it now lives. */
    DeviceKeys storeNext(DeviceKey fresh, X509Certificate cert) throws IOException;

    /** Removes keys other than {@code current} once the renewal is recorded. */
    void retireAllBut(DeviceKeys current) throws IOException;

    /** The key of {@code cert}, checked to be its key. */
    DeviceKey current(X509Certificate cert) throws IOException;
}
