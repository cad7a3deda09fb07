package org.postern.pki.testing;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A TCP echo service on a loopback port, the admin host the tunnel tests reach through the gateway:
 * every connection gets back what it sends, on a virtual thread of its own, until it or the server
 * closes.
 */
public final class EchoServer implements Closeable {
    private final ServerSocket socket;

    private EchoServer(ServerSocket socket) {
        this.socket = socket;
    }

    /** Listens on a free loopback port and starts accepting. */
    public static EchoServer start() throws IOException {
        EchoServer server = new EchoServer(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
        Thread.ofVirtual().name("echo-server").start(server::acceptLoop);
        return server;
    }

    public int getLocalPort() {
        return socket.getLocalPort();
    }

    /** Stops accepting; connections already open go on until their peer closes them. */
    @Override
    public void close() throws IOException {
        socket.close();
    }

    private void acceptLoop() {
        while (!socket.isClosed()) {
            Socket s;
            try {
                s = socket.accept();
            } catch (IOException e) {
                return; // closed
            }
            Thread.ofVirtual().start(() -> {
                try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                    in.transferTo(out);
                } catch (IOException e) {
                    // the tunnel went
                }
            });
        }
    }
}
