package org.postern.gateway.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Network;

/**
 * What both listeners need to know about a PROXY protocol header before and after Netty's
 * {@link HAProxyMessageDecoder} reads it: whether the first bytes are one (and which version), how
 * long a v2 header says it is, and the client address it names. Only v2 is taken from a trusted
 * proxy (HAProxy {@code send-proxy-v2}): it is binary and length-prefixed, so its end is never
 * guessed; v1 is text and is refused.
 */
public final class ProxyHeaders {

    /** Which header the first bytes of a connection are. */
    public enum Signature {
        /** The 12-byte v2 signature. */
        V2,
        /** The v1 text {@code "PROXY "}. */
        V1,
        /** Too few bytes yet: what came so far begins one of the two. */
        PARTIAL,
        /** Neither: the connection speaks its protocol directly. */
        NONE
    }

    /** The v2 signature (the PROXY protocol specification, section 2.2). */
    private static final byte[] V2 = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final byte[] V1 = "PROXY ".getBytes(StandardCharsets.US_ASCII);
    /** Signature, version and command, family and transport, length: what precedes the addresses. */
    public static final int V2_FIXED = 16;
    /**
     * The most a v2 header may carry after its fixed part: addresses (36 bytes for TCP over IPv6)
     * and TLVs. HAProxy sends a few dozen bytes of TLVs when asked; 1 KiB leaves room and bounds what
     * a broken proxy can make the gateway hold before it says who the client is.
     */
    public static final int MAX_V2_PAYLOAD = 1024;

    private ProxyHeaders() {
    }

    /** Which header {@code in} begins with, from its reader index; nothing is consumed. */
    public static Signature signature(ByteBuf in) {
        boolean v2 = startsWith(in, V2);
        boolean v1 = startsWith(in, V1);
        if (v2 && in.readableBytes() >= V2.length) {
            return Signature.V2;
        }
        if (v1 && in.readableBytes() >= V1.length) {
            return Signature.V1;
        }
        return v1 || v2 ? Signature.PARTIAL : Signature.NONE;
    }

    /** The whole length of the v2 header at {@code in}'s reader index; needs {@link #V2_FIXED} bytes. */
    public static int v2Length(ByteBuf in) {
        return V2_FIXED + in.getUnsignedShort(in.readerIndex() + 14);
    }

    /**
     * Decodes exactly one whole v2 header with Netty's decoder (the SSH bastion's bytes do not come
     * through a Netty pipeline). {@code header} is released.
     *
     * @throws HAProxyProtocolException when it is not a valid header
     */
    public static HAProxyMessage decode(ByteBuf header) {
        EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder(MAX_V2_PAYLOAD));
        try {
            decoder.writeInbound(header);
            decoder.checkException();
            HAProxyMessage message = decoder.readInbound();
            if (message == null) {
                throw new HAProxyProtocolException("the header ended early");
            }
            return message;
        } finally {
            decoder.finishAndReleaseAll();
        }
    }

    /**
     * The client a {@code PROXY} header names, or null with {@link #problem} saying why not: only a
     * TCP connection over IPv4 or IPv6 has an address the limits and the audit trail can use.
     */
    public static @Nullable InetSocketAddress client(HAProxyMessage m) {
        if (m.command() != HAProxyCommand.PROXY || !tcp(m.proxiedProtocol())) {
            return null;
        }
        InetAddress a = Network.parseAddress(m.sourceAddress());
        return a == null ? null : new InetSocketAddress(a, m.sourcePort());
    }

    /** Why {@link #client} found no address in {@code m}. */
    public static String problem(HAProxyMessage m) {
        return "expected a PROXY v2 header naming a TCP client over IPv4 or IPv6, found command " + m.command()
                + ", protocol " + m.proxiedProtocol() + ", source " + m.sourceAddress();
    }

    private static boolean tcp(HAProxyProxiedProtocol p) {
        return p == HAProxyProxiedProtocol.TCP4 || p == HAProxyProxiedProtocol.TCP6;
    }

    private static boolean startsWith(ByteBuf in, byte[] prefix) {
        int n = Math.min(in.readableBytes(), prefix.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
