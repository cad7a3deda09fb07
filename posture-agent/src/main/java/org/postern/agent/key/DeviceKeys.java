package org.postern.agent.key;

import java.nio.file.Path;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * Where the device key lives, as enrollment records it. No secret sits here: the PKCS#11 PIN comes
 * from {@code $POSTERN_AGENT_PIN} or the recorded PIN file when the key is used
 * ({@link DeviceKeyStore#open}).
 */
public sealed interface DeviceKeys permits DeviceKeys.FileKey, DeviceKeys.Pkcs11Key {
    /** Environment variable holding the PKCS#11 token PIN. */
    String PIN_ENV = "POSTERN_AGENT_PIN";

    /** One line for {@code status}. */
    String describe();

    /** The key in a PEM file readable by the agent's user only (0600). */
    record FileKey(Path file) implements DeviceKeys {
        public FileKey {
            Objects.requireNonNull(file, "file");
        }

        @Override
        public String describe() {
            return "file " + file + " (0600)";
        }
    }

    /**
     * The key inside a PKCS#11 token (a TPM through tpm2-pkcs11, a smart card, SoftHSM2), generated
     * there and never extractable.
     *
     * @param config  SunPKCS11 configuration file naming the library and slot
     * @param alias   the key entry (CKA_LABEL/CKA_ID) holding the current device key
     * @param pinFile file whose first line is the PIN, or null to read {@code $POSTERN_AGENT_PIN}
     */
    record Pkcs11Key(Path config, String alias, @Nullable Path pinFile) implements DeviceKeys {
        public static final String DEFAULT_ALIAS = "postern-device";
        private static final String NEXT = "-next";

        public Pkcs11Key {
            Objects.requireNonNull(config, "config");
            if (alias == null || alias.isBlank()) {
                throw new IllegalArgumentException("--pkcs11-alias: expected a key label like " + DEFAULT_ALIAS + ", found \"" + alias + "\"");
            }
        }

        /**
         * The other of the two entries a rekey alternates between ({@code A} and {@code A-next}):
         * the new key is stored beside the current one, which is deleted only once the new
         * certificate is on disk.
         */
        public String sibling() {
            return alias.endsWith(NEXT) ? alias.substring(0, alias.length() - NEXT.length()) : alias + NEXT;
        }

        public Pkcs11Key withAlias(String other) {
            return new Pkcs11Key(config, other, pinFile);
        }

        @Override
        public String describe() {
            return "PKCS#11 token, alias " + alias + " (config " + config + ")";
        }
    }
}
