package org.postern.agent.key;

import java.io.IOException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.util.Optional;

import org.postern.keys.KeyFiles;
import org.postern.keys.SecureFiles;

/** The key in {@code device.key} (PEM, 0600, in the 0700 agent directory). */
final class FileKeyStore implements DeviceKeyStore {
    private final DeviceKeys.FileKey where;

    FileKeyStore(DeviceKeys.FileKey where) {
        this.where = where;
    }

    @Override
    public DeviceKeys where() {
        return where;
    }

    @Override
    public Optional<String> occupied() {
        return Optional.empty(); // the agent directory's own "already enrolled" check covers the file
    }

    @Override
    public DeviceKey generate(SecureRandom random) {
        KeyPair kp = KeyFiles.generateP256(random);
        return new DeviceKey(kp.getPrivate(), kp.getPublic(), defaultProvider());
    }

    @Override
    public DeviceKeys storeFirst(DeviceKey fresh, X509Certificate cert) throws IOException {
        if (where.file().getParent() != null) {
            SecureFiles.privateDirectory(where.file().getParent());
        }
        return storeNext(fresh, cert);
    }

    @Override
    public DeviceKeys storeNext(DeviceKey fresh, X509Certificate cert) throws IOException {
        SecureFiles.replace(where.file(), KeyFiles.plainPem(fresh.privateKey()), true);
        return where;
    }

    @Override
    public void retireAllBut(DeviceKeys current) {
        // the file was replaced in place
    }

    @Override
    public DeviceKey current(X509Certificate cert) throws IOException {
        PrivateKey key = KeyFiles.readPlain(where.file());
        return new DeviceKey(key, cert.getPublicKey(), defaultProvider());
    }

    private static Provider defaultProvider() {
        return Security.getProvider("SunEC");
    }
}
