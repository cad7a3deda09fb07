package org.postern.protocol.http;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Objects;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import org.jspecify.annotations.Nullable;

/**
 * The client's address on a connection: what a trusted load balancer said in its PROXY protocol
 * header, else the TCP peer. Every consumer that names or counts the client — per-source limits,
 * the {@code source} of audit records, logs, the session list — asks here, never
 * {@link Channel#remoteAddress()}, so that behind HAProxy they see the laptop, not the proxy.
 * A stream of an HTTP/2 connection answers with its connection's address.
 */
public final class ClientAddress {

    private static final AttributeKey<InetSocketAddress> KEY = AttributeKey.valueOf(ClientAddress.class, "client");

    private ClientAddress() {
    }

    /** Records the address a trusted proxy gave for the connection {@code ch}; once, before anyone asks. */
    public static void set(Channel ch, InetSocketAddress client) {
        Objects.requireNonNull(client, "client");
        if (!ch.attr(KEY).compareAndSet(null, client)) {
            throw new IllegalStateException("the client address of " + ch + " is set already");
        }
    }

    /** The client's address, or null when the channel has no IP peer (an embedded or local channel). */
    public static @Nullable InetSocketAddress of(Channel ch) {
        for (Channel c = ch; c != null; c = c.parent()) {
            InetSocketAddress told = c.attr(KEY).get();
            if (told != null) {
                return told;
            }
        }
        return ch.remoteAddress() instanceof InetSocketAddress peer ? peer : null;
    }

    /** {@code ip:port} ({@code [v6]:port}) of the client, as audit records name it. */
    public static String source(Channel ch) {
        InetSocketAddress a = of(ch);
        return a != null ? format(a) : String.valueOf(ch.remoteAddress());
    }

    /** The client's IP address as text, without its port. */
    public static String ip(Channel ch) {
        InetSocketAddress a = of(ch);
        return a != null ? host(a) : String.valueOf(ch.remoteAddress());
    }

    /** {@code ip:port} or {@code [v6]:port}. */
    public static String format(SocketAddress address) {
        if (address instanceof InetSocketAddress a) {
            String host = host(a);
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
        }
        return String.valueOf(address);
    }

    private static String host(InetSocketAddress a) {
        return a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
    }
}
