package org.postern.pki.ca;

import java.nio.file.Path;
import java.util.Objects;

import org.postern.config.Secret;

/** How the CA's private keys are kept: encrypted PKCS#8 files, or a PKCS#11 token. */
public sealed interface KeyProtection {

    /** Keys in {@code ca/*.key}, encrypted with this passphrase. */
    record Passphrase(Secret passphrase) implements KeyProtection {
        public Passphrase {
            Objects.requireNonNull(passphrase, "passphrase");
            if (passphrase.length() < 8) {
                throw new IllegalArgumentException("CA passphrase: expected at least 8 characters, found " + passphrase.length());
            }
        }
    }

    /** Keys inside the token that the SunPKCS11 configuration file names, unlocked with this PIN. */
    record Pkcs11(Path config, Secret pin) implements KeyProtection {
        public Pkcs11 {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(pin, "pin");
        }
    }
}
