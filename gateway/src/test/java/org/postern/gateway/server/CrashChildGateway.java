package org.postern.gateway.server;

import java.nio.file.Path;

import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;

/**
 * A gateway in a process of its own, for {@link GatewayCrashIT} to kill with SIGKILL: the settings
 * of {@link GatewayCrashIT#settings}, then {@code READY} on standard output, then it runs until killed.
 * Arguments: data directory, tunnel port, admin port, SSH port, the admin host's port.
 */
public final class CrashChildGateway {
    private CrashChildGateway() {
    }

    public static void main(String[] args) throws Exception {
        GatewayServer gateway = GatewayServer.start(GatewayCrashIT.settings(Path.of(args[0]), Integer.parseInt(args[1]),
                Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4])),
                new KeyProtection.Passphrase(TestPki.PASSPHRASE));
        System.out.println("READY");
        System.out.flush();
        gateway.awaitClose();
    }
}
