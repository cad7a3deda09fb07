package org.postern.gateway.proxy;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.ClientAddress;

/**
 * On a connection from anyone but a trusted proxy, on a listener that takes PROXY headers: a peer
 * whose first bytes are a PROXY header (v1 or v2) is trying to choose its own address, and is
 * refused and audited ({@code proxy.untrusted}). Anything else is a direct connection — a laptop
 * may bypass the load balancer — and the handler leaves at its first byte that differs from both
 * signatures (a TLS record's first byte already does).
 */
final class UntrustedProxyHandler extends ByteToMessageDecoder {

    private final ProxyAudit audit;

    UntrustedProxyHandler(ProxyAudit audit) {
        this.audit = audit;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (ProxyHeaders.signature(in)) {
            case PARTIAL -> {
                // at most 11 bytes held until they tell
            }
            case NONE -> ctx.pipeline().remove(this); // the bytes held go on to TLS
            case V1, V2 -> {
                String version = ProxyHeaders.signature(in) == ProxyHeaders.Signature.V1 ? "v1" : "v2";
                in.skipBytes(in.readableBytes());
                ctx.close();
                audit.refused(ClientAddress.source(ctx.channel()), Reasons.PROXY_UNTRUSTED, "a PROXY protocol " + version
                        + " header from " + ClientAddress.ip(ctx.channel())
                        + ", which is not in proxyProtocol's trustedProxies of this listener: refused, the connection"
                        + " may not choose its own client address");
            }
        }
    }
}
