package org.postern.gateway.proxy;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.ClientAddress;

/**
 * On a connection from a trusted proxy, in front of Netty's decoder: the first bytes must be a
 * PROXY v2 header of at most {@link ProxyHeaders#MAX_V2_PAYLOAD} bytes after its fixed part.
 * Anything else — TLS straight away, a v1 header, a longer header — is refused and audited before
 * the decoder holds it. Once the fixed part is seen to be right, the guard leaves and passes on
 * what it has.
 */
final class ProxyHeaderGuard extends ByteToMessageDecoder {

    private final ProxyAudit audit;

    ProxyHeaderGuard(ProxyAudit audit) {
        this.audit = audit;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        ProxyHeaders.Signature signature = ProxyHeaders.signature(in);
        switch (signature) {
            case PARTIAL -> {
                return; // at most 11 bytes held
            }
            case NONE, V1 -> {
                refuse(ctx, in, Reasons.PROXY_REQUIRED, "expected a PROXY protocol v2 header first from this trusted proxy"
                        + " (HAProxy send-proxy-v2), found " + (signature == ProxyHeaders.Signature.V1
                        ? "a v1 header" : "no header"));
                return;
            }
            case V2 -> {
                if (in.readableBytes() < ProxyHeaders.V2_FIXED) {
                    return;
                }
                int length = ProxyHeaders.v2Length(in) - ProxyHeaders.V2_FIXED;
                if (length > ProxyHeaders.MAX_V2_PAYLOAD) {
                    refuse(ctx, in, Reasons.PROXY_INVALID, "expected a PROXY v2 header of at most "
                            + ProxyHeaders.MAX_V2_PAYLOAD + " bytes after its first " + ProxyHeaders.V2_FIXED + ", found "
                            + length);
                    return;
                }
                ctx.pipeline().remove(this); // the decoder gets the bytes held here
            }
        }
    }

    private void refuse(ChannelHandlerContext ctx, ByteBuf in, Reasons reason, String detail) {
        in.skipBytes(in.readableBytes());
        ctx.close();
        audit.refused(ClientAddress.source(ctx.channel()), reason, detail);
    }
}
