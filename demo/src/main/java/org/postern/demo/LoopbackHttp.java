package org.postern.demo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** The demo's HTTP/1.1 client for the admin host's page, directly, through SOCKS5 or a forward. */
final class LoopbackHttp {
    private LoopbackHttp() {
    }

    /** GET / over {@code socket} connected to {@code to}, HTTP/1.1 keep-alive: the body, the socket left open. */
    static String get(Socket socket, InetSocketAddress to, int hostPort) throws IOException {
        socket.connect(to, 10_000);
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: 127.0.0.1:" + hostPort + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the connection closed before the response ended: " + head.toString(StandardCharsets.US_ASCII));
            }
            head.write(b);
        }
        String h = head.toString(StandardCharsets.US_ASCII);
        int length = h.lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
                .map(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).strip())).findFirst()
                .orElseThrow(() -> new IOException("expected a Content-Length, found: " + h.strip()));
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    /** The page through SOCKS5, or what went wrong (a refusal). */
    static String tryGet(InetSocketAddress socks, int webPort) {
        try (Socket s = new Socket(new Proxy(Proxy.Type.SOCKS, socks))) {
            return get(s, InetSocketAddress.createUnresolved("127.0.0.1", webPort), webPort);
        } catch (IOException e) {
            return "refused (" + e.getMessage() + ")";
        }
    }

    /** How an idle open connection ended: read until EOF, a reset or the timeout. */
    static String endOf(Socket socket) {
        try {
            int b = socket.getInputStream().read();
            return b < 0 ? "closed" : "still open (read a byte)";
        } catch (java.net.SocketTimeoutException e) {
            return "still open after " + 5 + " s";
        } catch (IOException e) {
            return "reset (" + e.getMessage() + ")";
        }
    }
}
