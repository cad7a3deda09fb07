package org.postern.pki.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/**
 * Loopback ports for servers a test starts in another process, where binding port 0 cannot be
 * used because the port must be written into a configuration first.
 *
 * <p>The kernel may hand the same ephemeral port to two {@code bind(0)} calls once the first
 * socket is closed, so two listeners of one gateway could be given the same port (a real CI failure:
 * {@code listeners.ssh} equal to {@code listeners.tunnel}). This class remembers every port it gave
 * out in this JVM and never gives one twice.
 */
public final class FreePorts {

    private static final Set<Integer> GIVEN = new HashSet<>();
    private static final int ATTEMPTS = 64;

    private FreePorts() {
    }

    /** A loopback port that was free a moment ago and that this JVM has not been given before. */
    public static synchronized int next() {
        for (int i = 0; i < ATTEMPTS; i++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot bind a loopback port", e);
            }
            if (GIVEN.add(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no loopback port not given before after " + ATTEMPTS + " attempts");
    }
}
