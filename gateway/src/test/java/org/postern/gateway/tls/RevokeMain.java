package org.postern.gateway.tls;

import java.nio.file.Path;
import java.time.Clock;

import org.postern.pki.registry.RevocationReason;
import org.postern.pki.registry.SqliteRegistry;

/**
 * A second process revoking a device in the shared registry, as {@code postern pki device revoke}
 * does: {@code RevokeMain DATA_DIR DEVICE}. Prints {@code revoked} once the revocation is committed.
 */
public final class RevokeMain {
    private RevokeMain() {
    }

    public static void main(String[] args) {
        try (SqliteRegistry registry = SqliteRegistry.open(Path.of(args[0]), Clock.systemUTC())) {
            registry.revokeDevice(args[1], RevocationReason.lost, Clock.systemUTC().instant());
        }
        System.out.println("revoked");
        System.out.flush();
    }
}
