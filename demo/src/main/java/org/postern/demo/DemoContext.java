package org.postern.demo;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;

import org.postern.pki.ca.KeyProtection;

/**
 * What every step of one demo run shares: its temporary data directory, clock and randomness, the
 * CA's key protection and passphrase file, the printed output, and the lab the steps build up.
 */
record DemoContext(Path dir, Clock clock, SecureRandom random, KeyProtection protection, Path passFile,
                   DemoOutput out, DemoLab lab) {

    void show(String line) {
        out.show(line);
    }

    void check(boolean ok, String what) {
        out.check(ok, what);
    }
}
